import { proxyActivities } from '@temporalio/workflow';
import type { SchemaActivities, SchemaRefreshSummary } from '../activities/schema.js';
import { withQuotaPause } from './quota.js';

const { refreshMarketoSchema } = proxyActivities<SchemaActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

/**
 * Refreshes the cached Marketo schema from the Describe endpoints. The sync cycle runs the same
 * step; as a workflow of its own an operator can run it after changing fields in Marketo Admin.
 */
export async function schemaRefresh(): Promise<SchemaRefreshSummary> {
  return withQuotaPause(() => refreshMarketoSchema());
}
