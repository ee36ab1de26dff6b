import type { CrmConnector } from '../src/crm/connector.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import type { PersonMapping } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import type { BootstrapStaging } from './bootstrap-staging.js';
import { writePersons } from './person-writer.js';

export interface LeadSinkDeps {
  crm: Pick<CrmConnector, 'upsert' | 'getRecords'>;
  store: Pick<StateStore, 'errors' | 'idMap'>;
  staging: BootstrapStaging;
}

export interface BatchOutcome {
  written: number;
  failed: number;
}

/**
 * Writes one batch of exported leads into the CRM through the shared person writer (mapped,
 * routed to lead or contact, upserted keyed on the Marketo lead id so a retried window overwrites
 * and never duplicates, linked in the id map, failures to the ledger), then stages every row's
 * company/salesperson keys for the later phases — failed rows too: their keys still name
 * companies and salespersons Marketo has.
 */
export async function writeLeadBatch(deps: LeadSinkDeps, mapping: PersonMapping, runId: string, rows: readonly RecordRow[]): Promise<BatchOutcome> {
  const out = await writePersons(deps, mapping, rows, { operation: 'bootstrap' });
  await deps.staging.stage(runId, out.refs);
  return { written: out.written, failed: out.failed };
}
