import { CrmError, type CrmConnector } from '../../crm/connector.js';
import type { RecordFailure } from '../../store/error-ledger.js';
import type { IdLink } from '../../store/id-map.js';
import type { StateStore } from '../../store/state-store.js';
import type { PullOptions } from './options.js';
import type { PendingMerge } from './pending.js';

export interface DeleteDeps {
  crm: Pick<CrmConnector, 'describe' | 'delete' | 'merge' | 'convertLead' | 'getRecords' | 'upsert'>;
  store: Pick<StateStore, 'idMap' | 'merges' | 'errors'>;
  options: Pick<PullOptions, 'deletePolicy'>;
}

export interface ApplyResult {
  read: number;
  written: number;
  failed: number;
  calls: number;
  /** Marketo lead ids (deletes) or merges to try again next run: the CRM refused or was not ready. */
  retryDeletes: string[];
  retryMerges: PendingMerge[];
}

/** The CRM column a `flag` policy sets on persons Marketo deleted, when the CRM has it. */
export const DELETED_FLAG_FIELD = 'deleted_in_marketo';

type Person = { marketoId: string; type: string; crmId: string };

/**
 * `flag` policy: the CRM record stays, its Marketo id is cleared (that Marketo lead is gone, a
 * later push must not address it) and, where the CRM has the column, `deleted_in_marketo` is set.
 */
async function flagPersons(deps: DeleteDeps, persons: readonly Person[], operation: string, failures: RecordFailure[]): Promise<number> {
  const describe = await deps.crm.describe();
  let written = 0;
  for (const type of ['lead', 'contact']) {
    const mine = persons.filter((p) => p.type === type);
    if (mine.length === 0) continue;
    const hasFlag = describe.entities.find((e) => e.name === type)?.fields.some((f) => f.name === DELETED_FLAG_FIELD) ?? false;
    const rows = mine.map((p) => ({ id: p.crmId, marketo_lead_id: null, ...(hasFlag ? { [DELETED_FLAG_FIELD]: true } : {}) }));
    for (const r of await deps.crm.upsert(type, rows, { keyField: 'id', updateOnly: true })) {
      const p = mine[r.index]!;
      if (r.status === 'failed' && r.code !== 'NOT_FOUND') failures.push({ entity: type, recordKey: p.marketoId, operation, source: 'crm', code: r.code, reason: r.reason });
      else written++;
    }
  }
  return written;
}

/**
 * Merges Marketo made (losing → winning lead ids): the merge map learns them, so later
 * references to a loser reach the winner. Under `honour` the CRM records merge the same way
 * (children move to the winner, losers are deleted); a CRM lead merged into a contact is
 * converted into that contact (seed, "Converting a Lead into an Existing Contact Record").
 * Under `flag` the losers are flagged instead.
 */
export async function applyMerges(deps: DeleteDeps, merges: readonly PendingMerge[], operation: string): Promise<ApplyResult> {
  const out: ApplyResult = { read: 0, written: 0, failed: 0, calls: 0, retryDeletes: [], retryMerges: [] };
  const failures: RecordFailure[] = [];
  for (const m of merges) {
    out.read++;
    await deps.store.merges.record('marketo', m.winner, m.losers);
    const links = await deps.store.idMap.byMarketoIds('lead', [m.winner, ...m.losers]);
    const winner = links.get(m.winner);
    const losers: Person[] = m.losers.flatMap((id) => {
      const l = links.get(id);
      return l ? [{ marketoId: id, type: l.crmType, crmId: l.crmId }] : [];
    });
    if (losers.length === 0) continue;
    if (deps.options.deletePolicy === 'flag') {
      out.written += await flagPersons(deps, losers, operation, failures);
    } else if (!winner) {
      // Step 4 writes every merge winner before this runs; one that failed there waits for its retry.
      for (const l of losers) failures.push({ entity: l.type, recordKey: l.marketoId, operation, source: 'crm', code: 'MERGE_WINNER_MISSING', reason: `merged into Marketo lead ${m.winner}, which the CRM does not hold` });
      out.retryMerges.push(m);
      continue;
    } else {
      out.written += await mergeInCrm(deps, winner, losers, operation, failures);
    }
    await deps.store.idMap.unlinkMarketo('lead', losers.map((l) => l.marketoId));
  }
  await deps.store.errors.record(failures);
  out.failed = failures.length;
  return out;
}

async function mergeInCrm(deps: DeleteDeps, winner: IdLink, losers: readonly Person[], operation: string, failures: RecordFailure[]): Promise<number> {
  let written = 0;
  const same = losers.filter((l) => l.type === winner.crmType && l.crmId !== winner.crmId);
  if (same.length > 0 && (winner.crmType === 'lead' || winner.crmType === 'contact')) {
    // A loser already gone (an earlier attempt, a CRM user) would fail the whole merge.
    const present = new Set((await deps.crm.getRecords(winner.crmType, same.map((l) => l.crmId))).map((r) => String(r.id)));
    const ids = same.filter((l) => present.has(l.crmId)).map((l) => l.crmId);
    if (ids.length > 0) {
      try {
        await deps.crm.merge(winner.crmType, winner.crmId, ids);
        written += ids.length;
      } catch (err) {
        if (!(err instanceof CrmError)) throw err;
        for (const l of same) failures.push({ entity: l.type, recordKey: l.marketoId, operation, source: 'crm', code: err.code, reason: `merge: ${err.message}` });
      }
    }
  }
  for (const l of losers.filter((x) => x.type !== winner.crmType)) {
    if (l.type === 'lead' && winner.crmType === 'contact') {
      try {
        await deps.crm.convertLead({ leadId: l.crmId, contactId: winner.crmId });
        written++;
      } catch (err) {
        if (!(err instanceof CrmError)) throw err;
        if (err.code !== 'ALREADY_CONVERTED' && err.code !== 'NOT_FOUND') failures.push({ entity: l.type, recordKey: l.marketoId, operation, source: 'crm', code: err.code, reason: `merge by conversion: ${err.message}` });
      }
    } else {
      failures.push({ entity: l.type, recordKey: l.marketoId, operation, source: 'crm', code: 'MERGE_ACROSS_TYPES', reason: `Marketo merged this ${l.type} into a CRM ${winner.crmType}; the CRM cannot merge across those types` });
    }
  }
  return written;
}

/** Leads Marketo deleted: deleted in the CRM (`honour`) or flagged (`flag`); their id-map links go. */
export async function applyDeletes(deps: DeleteDeps, marketoIds: readonly string[], operation: string): Promise<ApplyResult> {
  const out: ApplyResult = { read: marketoIds.length, written: 0, failed: 0, calls: 0, retryDeletes: [], retryMerges: [] };
  const failures: RecordFailure[] = [];
  const links = await deps.store.idMap.byMarketoIds('lead', marketoIds);
  const persons: Person[] = [...links.values()].map((l) => ({ marketoId: l.marketoId, type: l.crmType, crmId: l.crmId }));
  if (deps.options.deletePolicy === 'flag') out.written += await flagPersons(deps, persons, operation, failures);
  else {
    for (const type of ['lead', 'contact']) {
      const mine = persons.filter((p) => p.type === type);
      if (mine.length === 0) continue;
      const results = await deps.crm.delete(type, mine.map((p) => p.crmId));
      const byId = new Map(mine.map((p) => [p.crmId, p]));
      for (const r of results) {
        if (r.status === 'deleted' || r.code === 'NOT_FOUND') out.written++;
        else failures.push({ entity: type, recordKey: byId.get(r.id)?.marketoId ?? r.id, operation, source: 'crm', code: r.code, reason: r.reason });
      }
    }
  }
  const failed = new Set(failures.map((f) => f.recordKey));
  const done = persons.filter((p) => !failed.has(p.marketoId)).map((p) => p.marketoId);
  await deps.store.idMap.unlinkMarketo('lead', done);
  await deps.store.errors.record(failures);
  for (const type of ['lead', 'contact']) {
    const mine = persons.filter((p) => p.type === type && !failed.has(p.marketoId)).map((p) => p.marketoId);
    if (mine.length > 0) await deps.store.errors.resolve(type, operation, mine);
  }
  // Refused deletes stay pending: every later run tries them again (no Marketo call needed).
  out.retryDeletes = [...failed];
  out.failed = failures.length;
  return out;
}
