import { defineQuery, isCancellation, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { SchemaActivities, SchemaRefreshSummary } from '../activities/schema.js';
import { withQuotaPause, type QuotaPause } from './quota.js';
import { markSyncState } from './search-attributes.js';

const { refreshMarketoSchema } = proxyActivities<SchemaActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

export interface SchemaRefreshStatus {
  state: 'running' | 'quota-paused' | 'done';
  quotaPause?: QuotaPause;
}

export const schemaRefreshStatus = defineQuery<SchemaRefreshStatus>('status');

/**
 * Refreshes the cached Marketo schema from the Describe endpoints. The sync cycle runs the same
 * step; as a workflow of its own an operator can run it after changing fields in Marketo Admin.
 */
export async function schemaRefresh(): Promise<SchemaRefreshSummary> {
  let status: SchemaRefreshStatus = { state: 'running' };
  setHandler(schemaRefreshStatus, () => status);
  // Runs recorded before the search attributes existed replay without their upserts.
  const marked = patched('marketo-search-attributes');
  const mark = (state: SchemaRefreshStatus['state'] | 'failed' | 'cancelled') => marked && markSyncState(state);
  let summary: SchemaRefreshSummary;
  try {
    summary = await withQuotaPause(
      () => refreshMarketoSchema(),
      (pause) => {
        status = pause ? { state: 'quota-paused', quotaPause: pause } : { state: 'running' };
        mark(status.state);
      },
    );
  } catch (err) {
    mark(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  status = { state: 'done' };
  mark('done');
  return summary;
}
