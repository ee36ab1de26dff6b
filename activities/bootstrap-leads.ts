import type { CrmConnector, CrmRecord } from '../src/crm/connector.js';
import { routeLead } from '../src/mapping/apply.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import type { PersonMapping } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import type { BootstrapStaging, StagedPerson } from './bootstrap-staging.js';
import { writePersons } from './person-writer.js';
import { textOrNull } from '../src/marketo/values.js';

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
 * companies and salespersons Marketo has. A person whose account or owner is loaded already (the
 * companies and salespersons phases load them while leads still stream in) is written with it, so
 * the link steps only revisit the persons written before their targets.
 */
export async function writeLeadBatch(deps: LeadSinkDeps, mapping: PersonMapping, runId: string, rows: readonly RecordRow[]): Promise<BatchOutcome> {
  // The keys are read straight off the rows so staging runs alongside the CRM writes (two round
  // trips in parallel instead of in series); routing is the same rule the writer applies.
  const refs: StagedPerson[] = [];
  for (const row of rows) {
    const marketoId = textOrNull(row.id);
    if (marketoId === null) continue;
    refs.push({ marketoId, type: routeLead(mapping.config, row), externalCompanyId: textOrNull(row.externalCompanyId), externalSalesPersonId: textOrNull(row.externalSalesPersonId) });
  }
  const targets = await deps.staging.loadedTargets(runId, refs);
  const references = new Map<string, CrmRecord>();
  for (const ref of refs) {
    const accountId = ref.type === 'contact' && ref.externalCompanyId !== null ? targets.companies.get(ref.externalCompanyId) : undefined;
    const ownerId = ref.externalSalesPersonId !== null ? targets.salesPersons.get(ref.externalSalesPersonId) : undefined;
    ref.accountLinked = accountId !== undefined;
    ref.ownerLinked = ownerId !== undefined;
    if (accountId !== undefined || ownerId !== undefined) references.set(ref.marketoId, { ...(accountId !== undefined ? { account_id: accountId } : {}), ...(ownerId !== undefined ? { owner_id: ownerId } : {}) });
  }
  const [out] = await Promise.all([writePersons(deps, mapping, rows, { operation: 'bootstrap', references }), deps.staging.stage(runId, refs)]);
  return { written: out.written, failed: out.failed };
}
