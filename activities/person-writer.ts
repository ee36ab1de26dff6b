import type { CrmConnector, CrmRecord } from '../src/crm/connector.js';
import type { MarketoRecord } from '../src/mapping/apply.js';
import { sameValue } from '../src/reconcile/compare.js';
import type { PersonMapping, PersonRefs, PersonType } from '../src/reconcile/person-mapping.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import type { IdLink } from '../src/store/id-map.js';
import type { StateStore } from '../src/store/state-store.js';

export interface PersonWriterDeps {
  crm: Pick<CrmConnector, 'upsert' | 'getRecords'>;
  store: Pick<StateStore, 'errors' | 'idMap'>;
}

export interface PersonWriteOptions {
  /** Names the writer in the error ledger (`bootstrap`, `on-demand`, ...). */
  operation: string;
  /**
   * Compare with the linked CRM record first and leave records that already hold the mapped values
   * alone. Worth a lookup when the same lead may arrive several times (webhooks); a bulk load of
   * new records skips it.
   */
  skipUnchanged?: boolean;
  /**
   * Reference values to write along with the mapped record, by Marketo lead id (the bootstrap
   * sets a person's account and owner at once when those are loaded already).
   */
  references?: ReadonlyMap<string, CrmRecord>;
}

export type PersonWriteStatus = 'created' | 'updated' | 'unchanged' | 'failed';

/** One input row's fate: keys and codes only, never field values (this travels into workflow history). */
export interface PersonWriteResult {
  marketoId: string;
  type: PersonType;
  status: PersonWriteStatus;
  crmId?: string;
  /** For `failed`: `MAPPING` or the CRM's code; the reason is in the error ledger. */
  code?: string;
}

export interface PersonWriteOutcome {
  written: number;
  unchanged: number;
  failed: number;
  /** In input order. */
  results: PersonWriteResult[];
  /** Company/salesperson keys of every row, failed ones included (the bootstrap stages them). */
  refs: ({ marketoId: string; type: PersonType } & PersonRefs)[];
}

interface Pending {
  index: number;
  marketoId: string;
  record: CrmRecord;
}

/** Whether every field the mapping produced already has that value in the CRM record. */
function holdsAll(current: CrmRecord, record: CrmRecord): boolean {
  return Object.entries(record).every(([field, value]) => sameValue(value, current[field]));
}

/**
 * The shared core of every Marketo → CRM person write: map each lead, route it to CRM lead or
 * contact, upsert keyed on the Marketo lead id (so a repeat overwrites and never duplicates), link
 * the ids, and put records that cannot be mapped or written into the error ledger instead of
 * failing the batch. Entries of records that went through this time are resolved.
 */
export async function writePersons(
  deps: PersonWriterDeps,
  mapping: PersonMapping,
  rows: readonly MarketoRecord[],
  options: PersonWriteOptions,
): Promise<PersonWriteOutcome> {
  const { operation } = options;
  const results: PersonWriteResult[] = [];
  const refs: PersonWriteOutcome['refs'] = [];
  const failures: RecordFailure[] = [];
  const byType: Record<PersonType, Pending[]> = { lead: [], contact: [] };
  rows.forEach((row, index) => {
    const mapped = mapping.map(row);
    refs.push({ marketoId: mapped.marketoId, type: mapped.type, ...mapped.refs });
    results.push({ marketoId: mapped.marketoId, type: mapped.type, status: 'failed', code: 'MAPPING' });
    if (!mapped.outcome.ok) {
      failures.push({ entity: mapped.type, recordKey: mapped.marketoId, operation, source: 'marketo', code: 'MAPPING', reason: mapped.outcome.errors.join('; ') });
      return;
    }
    const extra = options.references?.get(mapped.marketoId);
    byType[mapped.type].push({ index, marketoId: mapped.marketoId, record: extra ? { ...mapped.outcome.record, ...extra } : mapped.outcome.record });
  });

  if (options.skipUnchanged) await dropUnchanged(deps, byType, results);

  const links: IdLink[] = [];
  const succeeded: { entity: PersonType; recordKey: string }[] = [];
  const keyField = mapping.config.leadKey.crmMarketoIdField;
  // Leads and contacts are separate tables: both upserts run at once.
  const types = ['lead', 'contact'] as const;
  const upserts = await Promise.all(types.map((type) => (byType[type].length === 0 ? [] : deps.crm.upsert(type, byType[type].map((b) => b.record), { keyField }))));
  types.forEach((type, t) => {
    const batch = byType[type];
    for (const r of upserts[t]!) {
      const pending = batch[r.index]!;
      const result = results[pending.index]!;
      if (r.status === 'failed') {
        result.code = r.code;
        failures.push({ entity: type, recordKey: pending.marketoId, operation, source: 'crm', code: r.code, reason: r.reason });
      } else {
        results[pending.index] = { marketoId: pending.marketoId, type, status: r.status, crmId: r.id };
        links.push({ entity: 'lead', marketoId: pending.marketoId, crmType: type, crmId: r.id });
        succeeded.push({ entity: type, recordKey: pending.marketoId });
      }
    }
  });
  // The id map and the ledger are separate tables, written at once. Failures are recorded before
  // the resolves, so a key both refused and written in this batch ends resolved.
  const ledger = async (): Promise<void> => {
    await deps.store.errors.record(failures);
    await deps.store.errors.resolveRecords(operation, succeeded);
  };
  await Promise.all([deps.store.idMap.link(links), ledger()]);
  const count = (s: PersonWriteStatus) => results.filter((r) => r.status === s).length;
  return { written: count('created') + count('updated'), unchanged: count('unchanged'), failed: count('failed'), results, refs };
}

/** Removes from `byType` the records whose linked CRM record already holds every mapped value. */
async function dropUnchanged(deps: PersonWriterDeps, byType: Record<PersonType, Pending[]>, results: PersonWriteResult[]): Promise<void> {
  const all = [...byType.lead, ...byType.contact];
  if (all.length === 0) return;
  const linked = await deps.store.idMap.byMarketoIds(
    'lead',
    all.map((p) => p.marketoId),
  );
  for (const type of ['lead', 'contact'] as const) {
    // A lead that changed type (lead → contact) is written as its new type, never compared with the old one.
    const candidates = byType[type].filter((p) => linked.get(p.marketoId)?.crmType === type);
    if (candidates.length === 0) continue;
    const current = await deps.crm.getRecords(
      type,
      candidates.map((p) => linked.get(p.marketoId)!.crmId),
    );
    const byId = new Map(current.map((r) => [String(r.id), r]));
    const unchanged = new Set<number>();
    for (const p of candidates) {
      const crmId = linked.get(p.marketoId)!.crmId;
      const record = byId.get(crmId);
      if (!record || !holdsAll(record, p.record)) continue;
      unchanged.add(p.index);
      results[p.index] = { marketoId: p.marketoId, type, status: 'unchanged', crmId };
    }
    byType[type] = byType[type].filter((p) => !unchanged.has(p.index));
  }
}
