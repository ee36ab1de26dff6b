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
    byType[mapped.type].push({ index, marketoId: mapped.marketoId, record: mapped.outcome.record });
  });

  if (options.skipUnchanged) await dropUnchanged(deps, byType, results);

  const links: IdLink[] = [];
  const succeeded: Record<PersonType, string[]> = { lead: [], contact: [] };
  const keyField = mapping.config.leadKey.crmMarketoIdField;
  for (const type of ['lead', 'contact'] as const) {
    const batch = byType[type];
    if (batch.length === 0) continue;
    const upserted = await deps.crm.upsert(
      type,
      batch.map((b) => b.record),
      { keyField },
    );
    for (const r of upserted) {
      const pending = batch[r.index]!;
      const result = results[pending.index]!;
      if (r.status === 'failed') {
        result.code = r.code;
        failures.push({ entity: type, recordKey: pending.marketoId, operation, source: 'crm', code: r.code, reason: r.reason });
      } else {
        results[pending.index] = { marketoId: pending.marketoId, type, status: r.status, crmId: r.id };
        links.push({ entity: 'lead', marketoId: pending.marketoId, crmType: type, crmId: r.id });
        succeeded[type].push(pending.marketoId);
      }
    }
  }
  await deps.store.idMap.link(links);
  await deps.store.errors.record(failures);
  for (const type of ['lead', 'contact'] as const) {
    if (succeeded[type].length > 0) await deps.store.errors.resolve(type, operation, succeeded[type]);
  }
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
