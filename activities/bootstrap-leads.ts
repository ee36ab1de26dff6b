import type { CrmConnector, CrmRecord } from '../src/crm/connector.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { routeLead } from '../src/mapping/apply.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { textOrNull } from '../src/marketo/values.js';
import type { PersonMapping } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import { colocatedPersonWriter, type ColocatedPersonWriter } from './bootstrap-person-batch.js';
import { sharesDatabase, type BootstrapStaging, type StagedPerson } from './bootstrap-staging.js';
import { writePersons } from './person-writer.js';

export interface LeadSinkDeps {
  crm: Pick<CrmConnector, 'upsert' | 'getRecords'>;
  store: Pick<StateStore, 'errors' | 'idMap'>;
  staging: BootstrapStaging;
}

/** Busy time per step of a batch write (benchmarks). */
export interface WriteProfile {
  add(step: string, ms: number): void;
}

export interface LeadBatchOptions {
  /** false: always the general path; default: the single-transaction path when CRM and state share a database. */
  colocated?: boolean;
  profile?: WriteProfile;
}

export interface BatchOutcome {
  written: number;
  failed: number;
}

// Per CRM connector, staging and mapping: whether they share a database, and the compiled writer.
const writers = new WeakMap<object, WeakMap<object, WeakMap<object, Promise<ColocatedPersonWriter | undefined>>>>();

function colocatedWriter(deps: LeadSinkDeps, mapping: PersonMapping): Promise<ColocatedPersonWriter | undefined> {
  const crm = deps.crm;
  if (!(crm instanceof PostgresCrmConnector)) return Promise.resolve(undefined);
  let byStaging = writers.get(crm);
  if (!byStaging) writers.set(crm, (byStaging = new WeakMap()));
  let byMapping = byStaging.get(deps.staging);
  if (!byMapping) byStaging.set(deps.staging, (byMapping = new WeakMap()));
  let writer = byMapping.get(mapping);
  if (!writer) {
    writer = (async () => ((await sharesDatabase(crm.pool, deps.staging)) ? colocatedPersonWriter(crm, deps.staging, deps.store.errors, mapping) : undefined))();
    // A failed check (e.g. the database restarting) is asked again by the next batch.
    writer.catch(() => byMapping.delete(mapping));
    byMapping.set(mapping, writer);
  }
  return writer;
}

/**
 * Writes one batch of exported leads into the CRM (mapped, routed to lead or contact, upserted
 * keyed on the Marketo lead id so a retried window overwrites and never duplicates, linked in the
 * id map, failures to the ledger) and stages company/salesperson keys for the later phases —
 * failed rows' too: their keys still name companies and salespersons Marketo has. A person whose
 * account or owner is loaded already (the companies and salespersons phases load them while leads
 * still stream in) is written with it, so the link steps only revisit the persons written before
 * their targets.
 *
 * When the CRM is the Postgres connector in the state store's database, the batch is one
 * transaction of one statement (bootstrap-person-batch.ts); otherwise, and for any batch that
 * path hands back, the general path below (separate writes per table, bad records isolated).
 */
export async function writeLeadBatch(deps: LeadSinkDeps, mapping: PersonMapping, runId: string, rows: readonly RecordRow[], options: LeadBatchOptions = {}): Promise<BatchOutcome> {
  if (options.colocated !== false) {
    const writer = await colocatedWriter(deps, mapping);
    const out = writer && (await writer.write(runId, rows, options.profile));
    if (out) return out;
  }
  return writeLeadBatchApart(deps, mapping, runId, rows);
}

/** The general path: CRM upserts through the connector, then id map, ledger and staging each on their own. */
async function writeLeadBatchApart(deps: LeadSinkDeps, mapping: PersonMapping, runId: string, rows: readonly RecordRow[]): Promise<BatchOutcome> {
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
