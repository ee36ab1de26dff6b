import type { CrmConnector, CrmEntityName, CrmRecord } from '../src/crm/connector.js';
import { MarketingRecordError, type PersonLink } from '../src/marketing/cells.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import type { StateStore } from '../src/store/state-store.js';

/**
 * What every marketing sink and activity does with a batch: find the CRM people of the Marketo
 * lead ids (id map, entity 'lead'), build records (a refused record goes to the ledger, the rest
 * of the batch goes on), upsert keyed on Marketo's key, and ledger what the CRM refused.
 */

export const OPERATION = 'bootstrap';

export interface BatchCounts {
  written: number;
  failed: number;
}

/** CRM people of Marketo lead ids; a lead the CRM does not hold is simply absent. */
export async function personLinks(store: Pick<StateStore, 'idMap'>, leadIds: Iterable<number>): Promise<Map<number, PersonLink>> {
  const ids = [...new Set(leadIds)].map(String);
  if (ids.length === 0) return new Map();
  const links = await store.idMap.byMarketoIds('lead', ids);
  return new Map([...links.values()].map((l) => [Number(l.marketoId), { crmType: l.crmType, crmId: l.crmId }]));
}

/** CRM ids of Marketo parents linked in the id map (programs → campaigns, lists → static lists). */
export async function parentLinks(store: Pick<StateStore, 'idMap'>, entity: 'program' | 'staticList', ids: Iterable<number>): Promise<Map<number, string>> {
  const wanted = [...new Set(ids)].map(String);
  if (wanted.length === 0) return new Map();
  const links = await store.idMap.byMarketoIds(entity, wanted);
  return new Map([...links.values()].map((l) => [Number(l.marketoId), l.crmId]));
}

export interface Built {
  key: string;
  record: CrmRecord;
}

/**
 * Builds each item's record with `build`; refusals (MarketingRecordError, or any error naming a
 * field) become ledger entries keyed by `keyOf`. Other errors are bugs and propagate.
 */
export function buildAll<T>(items: readonly T[], entity: string, keyOf: (item: T) => string, build: (item: T) => CrmRecord): { built: Built[]; refused: RecordFailure[] } {
  const built: Built[] = [];
  const refused: RecordFailure[] = [];
  for (const item of items) {
    const key = keyOf(item);
    try {
      built.push({ key, record: build(item) });
    } catch (err) {
      if (!(err instanceof MarketingRecordError)) throw err;
      refused.push({ entity, recordKey: key, operation: OPERATION, source: 'marketo', code: 'INVALID_RECORD', reason: err.message });
    }
  }
  return { built, refused };
}

/**
 * Upserts keyed on `keyField` (idempotent: a repeated batch overwrites the same rows), records
 * every refusal in the error ledger and returns the counts plus the CRM id of each written key.
 */
export async function upsertAndLedger(
  deps: { crm: Pick<CrmConnector, 'upsert'>; store: Pick<StateStore, 'errors'> },
  entity: CrmEntityName,
  keyField: string,
  built: readonly Built[],
  refused: readonly RecordFailure[],
): Promise<BatchCounts & { ids: Map<string, string> }> {
  const ids = new Map<string, string>();
  const failures = [...refused];
  if (built.length > 0) {
    const results = await deps.crm.upsert(entity, built.map((b) => b.record), { keyField });
    if (results.length !== built.length) throw new Error(`CRM answered ${results.length} results for ${built.length} ${entity} records`);
    for (const r of results) {
      const b = built[r.index]!;
      if (r.status === 'failed') failures.push({ entity, recordKey: b.key, operation: OPERATION, source: 'crm', code: r.code, reason: r.reason });
      else ids.set(b.key, r.id);
    }
  }
  await deps.store.errors.record(failures);
  return { written: ids.size, failed: failures.length, ids };
}

/** Membership tables a full snapshot load may prune: the entity and the column naming its parent. */
export type MemberTable = { entity: 'listMember'; parentColumn: 'marketo_list_id' } | { entity: 'campaignMember'; parentColumn: 'marketo_program_id' };

/**
 * Removes the CRM members of the given lists or programs that Marketo's complete answer no longer
 * holds (`present`: per parent id, every lead id of its answer). Call it only after every page of
 * each answer was read and written: a partial answer would delete live members. The CRM members
 * are found with one snapshot scan of the membership table for all the parents (the connector has
 * no query by column); deletes go through the connector (tombstones), refusals to the ledger.
 * Returns the members removed.
 */
export async function removeAbsentMembers(
  deps: { crm: Pick<CrmConnector, 'readChanges' | 'delete'>; store: Pick<StateStore, 'errors'> },
  table: MemberTable,
  present: ReadonlyMap<number, ReadonlySet<number>>,
): Promise<number> {
  if (present.size === 0) return 0;
  const stale = new Map<string, string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await deps.crm.readChanges(table.entity, { snapshot: true, includeOwnWrites: true, limit: 10_000, ...(cursor === undefined ? { since: new Date(0) } : { cursor }) });
    for (const c of page.changes) {
      if (c.kind !== 'upsert') continue;
      const members = present.get(Number(c.record[table.parentColumn]));
      if (members && !members.has(Number(c.record.marketo_lead_id))) stale.set(c.id, String(c.record.marketo_key));
    }
    if (!page.hasMore) break;
    cursor = page.cursor;
  }
  if (stale.size === 0) return 0;
  const results = await deps.crm.delete(table.entity, [...stale.keys()]);
  const failures: RecordFailure[] = [];
  for (const r of results) {
    if (r.status === 'failed') failures.push({ entity: table.entity, recordKey: stale.get(r.id) ?? r.id, operation: OPERATION, source: 'crm', code: r.code, reason: `removing a member Marketo no longer lists: ${r.reason}` });
  }
  await deps.store.errors.record(failures);
  return results.length - failures.length;
}
