import type { CrmConnector, CrmRecord } from '../../crm/connector.js';
import { activityRecord, ActivityRecordError } from '../../marketing/activity-record.js';
import type { MarketoRecord } from '../../mapping/apply.js';
import type { Activity, ActivityType, MarketoClient } from '../../marketo/index.js';
import { buildPersonMapping } from '../../reconcile/person-mapping.js';
import type { RecordFailure } from '../../store/error-ledger.js';
import type { IdLink } from '../../store/id-map.js';
import type { StateStore } from '../../store/state-store.js';
import type { StepSummary } from '../push/steps.js';
import { extractUpdatedLeads, type UpdatedLeadsOptions } from './bulk-leads.js';
import { CHANGE_DATA_VALUE, classifyChanges, MERGE_LEADS, NEW_LEAD, type ChangeSet, type Conflict } from './changes.js';
import { pullCompanies } from './companies.js';
import { scanCompanies } from './company-scan.js';
import { loadPullContext, type PullContext } from './context.js';
import { applyDeletes, applyMerges } from './deletes.js';
import type { PullOptions } from './options.js';
import { MalformedAttempts, positionIdentity } from './malformed-attempts.js';
import { loadPending, savePending } from './pending.js';
import { backfillMarketoIds, writePulledPersons } from './persons.js';
import { activityQueueStream, DELETES_STREAM, LEADS_STREAM, loadPosition, readStream, savePosition, secondOf, type StreamPosition } from './position.js';
import { idSetDeletes } from './reconcile-ids.js';
import { textOrNull } from '../../marketo/values.js';

export interface PullDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  options: PullOptions;
  /** Marketo's present (tests move it); decides whether the activity log can still be trusted. */
  now?: () => Date;
  /** The sync cycle this run belongs to (cycle history id): settled conflicts are recorded under it. */
  cycleId?: string;
}

/** Counts only (it lands in workflow history), never record values. */
export interface PullStepSummary extends StepSummary {
  /** Fields both sides changed since the last cycle, settled by the conflict rule (ledgered, operation `pull-conflict`). */
  conflicts?: number;
  /** Changes the sync wrote itself, seen coming back and left out. */
  echoes?: number;
  /** CRM leads converted to contacts because Marketo linked them to a company. */
  converted?: number;
  /**
   * Set when the last pull is older than Marketo keeps the activities this step reads: the step
   * did not trust the activity log and caught up another way (bulk extract or id-set check).
   */
  retention?: 'changes-pruned' | 'deletes-pruned';
  /** Step 4 ran its periodic company scan: CRM accounts whose Marketo company was read (docs/sync-pull.md). */
  companiesScanned?: number;
}

export const PULL_OPERATION = 'pull';
export const PULL_DELETE_OPERATION = 'pull-delete';
export const PULL_ACTIVITY_OPERATION = 'pull-activity';
export const CONFLICT_OPERATION = 'pull-conflict';

const DAY = 86_400_000;
const LEAD_ACTIVITY_TYPES = [NEW_LEAD, CHANGE_DATA_VALUE, MERGE_LEADS];

/** Activities per page: Marketo's 300, or the run's whole budget when that is smaller. */
function pageSize(deps: PullDeps): number {
  return Math.min(300, deps.options.maxActivitiesPerRun);
}

function nowOf(deps: PullDeps): Date {
  return deps.now ? deps.now() : new Date();
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Streams that start where the lead stream started the first time they are read (the bootstrap only records `marketo:leads`). */
async function seedStreams(deps: PullDeps, start: StreamPosition): Promise<void> {
  for (const stream of [DELETES_STREAM, ...deps.options.activityQueues.map((q) => activityQueueStream(q.name))]) {
    if (!(await deps.store.watermarks.get(stream))) await deps.store.watermarks.set(stream, { watermark: start.at, cursor: null });
  }
}

async function readLeadsById(deps: PullDeps, context: PullContext, ids: readonly number[]): Promise<{ leads: MarketoRecord[]; calls: number }> {
  const leads: MarketoRecord[] = [];
  let calls = 0;
  for (const batch of chunks(ids, deps.options.batchSize)) {
    calls++;
    const page = await deps.marketo.leads.getByFilter({ filterType: 'id', filterValues: batch, fields: context.person.exportFields, batchSize: deps.options.batchSize });
    leads.push(...(page.items as MarketoRecord[]));
  }
  return { leads, calls };
}

/**
 * Settles fields both sides changed since the last cycle. The push (step 3) ran first, so each
 * conflict shows in the window as a change by a Marketo user or program and an API change by the
 * sync. The winner's value goes to the CRM (CRM wins: the field is left out of the pulled record)
 * and, when the loser wrote last in Marketo, back to Marketo (one updateOnly call per 300 leads).
 * The push sends whole records, so it also overwrites Marketo changes to fields the CRM never
 * touched (its value equals the one before the Marketo change): those are restored, not conflicts.
 */
async function settleConflicts(deps: PullDeps, leads: MarketoRecord[], found: readonly Conflict[]): Promise<{ calls: number; conflicts: number }> {
  if (found.length === 0) return { calls: 0, conflicts: 0 };
  const byId = new Map(leads.map((l) => [Number(l.id), l]));
  const writeBack = new Map<number, MarketoRecord>();
  for (const c of found) {
    const winner = c.marketoOnly ? 'marketo' : deps.options.conflictRule;
    const lead = byId.get(c.leadId);
    if (lead) {
      if (winner === 'crm') delete lead[c.field];
      else lead[c.field] = c.marketoValue as MarketoRecord[string];
    }
    if (c.lastBy !== winner) {
      const rec = writeBack.get(c.leadId) ?? { id: c.leadId };
      rec[c.field] = (winner === 'crm' ? c.crmValue : c.marketoValue) as MarketoRecord[string];
      writeBack.set(c.leadId, rec);
    }
  }
  let calls = 0;
  const failures: RecordFailure[] = [];
  for (const batch of chunks([...writeBack.values()], deps.options.batchSize)) {
    calls++;
    const outcomes = await deps.marketo.leads.sync({ action: 'updateOnly', lookupField: 'id', input: batch });
    outcomes.forEach((o, i) => {
      if (o.status === 'skipped') failures.push({ entity: 'lead', recordKey: String(batch[i]!.id), operation: CONFLICT_OPERATION, source: 'marketo', code: o.reasons[0]?.code ?? 'SKIPPED', reason: 'writing the winning value back to Marketo was refused' });
    });
  }
  // Each conflict is recorded, then marked settled: the rule decided it, nobody has to act.
  const rule = deps.options.conflictRule;
  const recorded: RecordFailure[] = found.filter((c) => !c.marketoOnly).map((c) => ({
    entity: 'lead', recordKey: `${c.leadId}/${c.field}`, operation: CONFLICT_OPERATION, source: 'marketo', code: rule === 'crm' ? 'CONFLICT_CRM_WINS' : 'CONFLICT_MARKETO_WINS',
    reason: `field '${c.field}' changed in the CRM and in Marketo since the last cycle; ${rule === 'crm' ? "the CRM's" : "Marketo's"} value was kept on both sides`,
  }));
  await deps.store.errors.record(recorded);
  if (recorded.length > 0) await deps.store.errors.resolve('lead', CONFLICT_OPERATION, recorded.map((r) => r.recordKey));
  if (deps.cycleId !== undefined) {
    await deps.store.cycles.recordConflicts(deps.cycleId, found.filter((c) => !c.marketoOnly).map((c) => ({ entity: 'lead', recordKey: String(c.leadId), field: c.field, rule, winner: rule })));
  }
  await deps.store.errors.record(failures);
  return { calls, conflicts: recorded.length };
}

/** Linked leads seen only as echoes: their CRM records learn the Marketo id (no Marketo call). */
async function backfillEchoes(deps: PullDeps, context: PullContext, linked: ReadonlyMap<string, IdLink>, written: ReadonlySet<string>): Promise<void> {
  const failures: RecordFailure[] = [];
  for (const type of ['lead', 'contact'] as const) {
    const items = [...linked.values()].filter((l) => l.crmType === type && !written.has(l.marketoId)).map((l) => ({ crmId: l.crmId, marketoId: l.marketoId }));
    await backfillMarketoIds(deps, context.config.leadKey.crmMarketoIdField, type, items, PULL_OPERATION, failures);
  }
  await deps.store.errors.record(failures);
}

/**
 * Writes pulled leads batch by batch: conflicts of the batch's leads settled, their companies
 * into accounts, then the persons. Counts add up over the batches.
 */
class LeadWriter {
  written = 0;
  failed = 0;
  converted = 0;
  calls = 0;
  conflicts = 0;
  readonly seen = new Set<string>();
  private readonly context: PullContext;

  constructor(
    private readonly deps: PullDeps,
    context: PullContext,
    private readonly found: readonly Conflict[],
    csv: boolean,
  ) {
    // Bulk rows are text (`"true"`, `"42"`); the mapping reads them as the bootstrap does.
    this.context = csv ? { ...context, person: buildPersonMapping(context.config, context.schemas, context.describe, { csv: true }) } : context;
  }

  async write(leads: MarketoRecord[]): Promise<void> {
    if (leads.length === 0) return;
    const ids = new Set(leads.map((l) => String(l.id)));
    const settled = await settleConflicts(this.deps, leads, this.found.filter((c) => ids.has(String(c.leadId))));
    this.calls += settled.calls;
    this.conflicts += settled.conflicts;
    const externalIds = [...new Set(leads.map((l) => textOrNull(l.externalCompanyId)).filter((x): x is string => x !== null))];
    const companies = await pullCompanies(this.deps, this.context, externalIds, { batchSize: this.deps.options.batchSize, operation: PULL_OPERATION });
    await this.deps.store.errors.record(companies.failures);
    const persons = await writePulledPersons(this.deps, this.context, leads, companies.accounts, PULL_OPERATION);
    this.calls += companies.calls;
    this.written += persons.written + companies.written;
    this.failed += persons.failed + companies.failures.length;
    this.converted += persons.converted;
    for (const id of ids) this.seen.add(id);
  }
}

/**
 * Seed step 4: leads (and their companies) changed in Marketo since the `marketo:leads`
 * watermark. New Lead, Change Data Value and Merge Leads activities say which leads changed (and
 * which merged: kept for step 5); the leads are then read by id, 300 a call, or by a Bulk Lead
 * Extract on updatedAt when there are many, and written through the shared person writer. The
 * watermark moves only after the CRM writes.
 */
export async function pullLeadsAndCompanies(deps: PullDeps): Promise<PullStepSummary> {
  const loaded = await loadPullContext(deps);
  // Like the push: persons switched off in the mapping are not read and keep their position (the backlog comes once switched on).
  if (!loaded.context) return { ...summary('pullLeadsAndCompanies', 0, 0, 0, loaded.describeCalls, false, 'none'), disabled: true };
  const { context, describeCalls } = loaded;
  const start = await loadPosition(deps.store, LEADS_STREAM);
  await seedStreams(deps, start);
  const now = nowOf(deps);
  if (now.getTime() - start.readAt.getTime() > deps.options.retention.changeDays * DAY) return catchUpLeads(deps, context, start, now, describeCalls);

  const queueTypes = [...new Set(deps.options.activityQueues.flatMap((q) => q.typeIds))].filter((t) => !LEAD_ACTIVITY_TYPES.includes(t));
  // Marketo takes 10 types a call: the queues ride along only when they fit.
  const alongside = LEAD_ACTIVITY_TYPES.length + queueTypes.length <= 10 ? queueTypes : [];
  const all = await readStream(
    start,
    (since) => deps.marketo.activities.pagingToken(since),
    (token) => deps.marketo.activities.get({ nextPageToken: token, activityTypeIds: [...LEAD_ACTIVITY_TYPES, ...alongside], batchSize: pageSize(deps) }),
    deps.options.maxActivitiesPerRun,
  );
  const window = { ...all, items: all.items.filter((a) => LEAD_ACTIVITY_TYPES.includes(a.activityTypeId)) };
  let calls = describeCalls + window.calls;
  const linkedIds = await deps.store.idMap.byMarketoIds('lead', [...new Set(window.items.map((a) => String(a.leadId)))]);
  const changes = classifyChanges(context, window.items, new Set([...linkedIds.keys()].map(Number)), deps.options.echoSources);
  const pending = await loadPending(deps.store);
  const mergedAway = new Set([...pending.merges, ...changes.merges].flatMap((m) => m.losers.map(Number)));
  const ids = changes.leadIds.filter((id) => !mergedAway.has(id));

  let mode: PullStepSummary['mode'] = 'none';
  const writer = new LeadWriter(deps, context, changes.conflicts, ids.length >= deps.options.bulkThreshold);
  if (ids.length >= deps.options.bulkThreshold) {
    mode = 'bulk';
    const wanted = new Set(ids.map(String));
    const range = { startAt: secondOf(start.at), endAt: new Date(window.position.at.getTime() + 1000) };
    const keep = (id: string): boolean => wanted.has(id);
    const attempts = await MalformedAttempts.begin(deps.store, positionIdentity(start));
    const extract = await extractUpdatedLeads(deps.marketo, context.person.exportFields, range, bulkOptions(deps, keep, attempts), (rows) =>
      writer.write(rows.filter((r) => keep(String(r.id))) as MarketoRecord[]),
    );
    await attempts.supersede(deps.store.errors, PULL_OPERATION, 'lead');
    calls += extract.calls;
    // Malformed lines nobody could fetch again are ledgered; they count with the records the step could not write.
    writer.failed += extract.open;
  } else if (ids.length > 0) {
    mode = 'rest';
    const read = await readLeadsById(deps, context, ids);
    calls += read.calls;
    await writer.write(read.leads);
  }
  calls += writer.calls;
  await backfillEchoes(deps, context, linkedIds, writer.seen);

  if (changes.merges.length > 0) {
    const seen = new Set(pending.merges.map((m) => `${m.winner}:${m.losers.join(',')}`));
    for (const m of changes.merges) if (!seen.has(`${m.winner}:${m.losers.join(',')}`)) pending.merges.push(m);
    await savePending(deps.store, pending);
  }
  await savePosition(deps.store, LEADS_STREAM, window.position);
  if (alongside.length > 0) await markQueuesCovered(deps, start.token, window.position.token, all.items);
  // After the lead stream's position is stored: a failing scan does not make the leads be read again.
  const scan = await scanCompanies(deps, context, { everyHours: deps.options.companyScanHours, batchSize: deps.options.batchSize, operation: PULL_OPERATION, now, startAt: start.at });
  const out = summary('pullLeadsAndCompanies', window.items.length, writer.written + scan.written, writer.failed + scan.failed, calls + scan.calls, window.hasMore, mode, changes, writer.converted);
  return { ...out, conflicts: writer.conflicts, ...(scan.ran ? { companiesScanned: scan.checked } : {}) };
}

/**
 * Queues that were known to hold nothing unread up to where this read started, and of whose types
 * the read found none, hold nothing unread up to where it ended: step 6 need not ask Marketo.
 */
async function markQueuesCovered(deps: PullDeps, from: string | undefined, to: string | undefined, seen: readonly Activity[]): Promise<void> {
  if (from === undefined || to === undefined) return;
  const types = new Set(seen.map((a) => a.activityTypeId));
  for (const queue of deps.options.activityQueues) {
    if (queue.typeIds.some((t) => types.has(t))) continue;
    const stream = activityQueueStream(queue.name);
    const position = await loadPosition(deps.store, stream, [LEADS_STREAM]);
    if (position.stream === stream && position.coveredBy === from) await savePosition(deps.store, stream, { ...position, coveredBy: to });
  }
}

function summary(step: string, read: number, written: number, skipped: number, calls: number, hasMore: boolean, mode: PullStepSummary['mode'], changes?: ChangeSet, converted = 0): PullStepSummary {
  const out: PullStepSummary = { step, read, written, skipped, calls, hasMore };
  if (mode) out.mode = mode;
  if (changes) {
    out.conflicts = changes.conflicts.length;
    out.echoes = changes.echoes;
  }
  if (converted) out.converted = converted;
  return out;
}

/** The bulk route's settings: malformed lines are ledgered under the pull's operation; `keep` says which leads it writes. */
function bulkOptions(deps: PullDeps, keep: (id: string) => boolean, attempts: MalformedAttempts): UpdatedLeadsOptions {
  return { pollIntervalMs: deps.options.bulkPollIntervalMs, ledger: deps.store.errors, operation: PULL_OPERATION, keep, beforeRecord: (entries) => attempts.remember(entries) };
}

/**
 * The loop was stopped longer than Marketo keeps Change Data Value activities: the log cannot say
 * everything that changed. Every lead updated since the watermark is read by bulk extract
 * instead (writes of unchanged records are skipped by the person writer), merges still come
 * from Merge Leads activities (not pruned), and the stream restarts at the extract's end.
 */
async function catchUpLeads(deps: PullDeps, context: PullContext, start: StreamPosition & { readAt: Date }, now: Date, describeCalls: number): Promise<PullStepSummary> {
  const end = secondOf(now);
  const merges = await readStream(
    { at: start.at, ids: start.ids },
    (since) => deps.marketo.activities.pagingToken(since),
    (token) => deps.marketo.activities.get({ nextPageToken: token, activityTypeIds: [MERGE_LEADS], batchSize: pageSize(deps) }),
    Number.MAX_SAFE_INTEGER,
  );
  const changes = classifyChanges(context, merges.items, new Set(), []);
  const mergedAway = new Set(changes.merges.flatMap((m) => m.losers));
  const writer = new LeadWriter(deps, context, [], true);
  const keep = (id: string): boolean => !mergedAway.has(id);
  const attempts = await MalformedAttempts.begin(deps.store, positionIdentity(start));
  const extract = await extractUpdatedLeads(deps.marketo, context.person.exportFields, { startAt: secondOf(start.at), endAt: end }, bulkOptions(deps, keep, attempts), (rows) =>
    writer.write(rows.filter((r) => keep(String(r.id))) as MarketoRecord[]),
  );
  await attempts.supersede(deps.store.errors, PULL_OPERATION, 'lead');
  writer.failed += extract.open;
  if (changes.merges.length > 0) {
    const pending = await loadPending(deps.store);
    pending.merges.push(...changes.merges);
    await savePending(deps.store, pending);
  }
  await savePosition(deps.store, LEADS_STREAM, { at: end, ids: [] });
  const out = summary('pullLeadsAndCompanies', extract.rows, writer.written, writer.failed, describeCalls + extract.calls + merges.calls + writer.calls, false, 'bulk', undefined, writer.converted);
  return { ...out, retention: 'changes-pruned' };
}

/**
 * Seed step 5: the merges step 4 found are applied (the merge map learns losing → winning ids;
 * the CRM merges or flags the records), then Get Deleted Leads since the deletes watermark
 * records the leads Marketo deleted for step 7. When the last read is older than Marketo keeps
 * Delete Lead activities, an id-set check (every linked Marketo id asked for by id) finds them.
 */
export async function pullMergesAndDeletes(deps: PullDeps): Promise<PullStepSummary> {
  const pending = await loadPending(deps.store);
  const merged = await applyMerges(deps, pending.merges, PULL_DELETE_OPERATION);
  pending.merges = merged.retryMerges;
  await savePending(deps.store, pending);

  const start = await loadPosition(deps.store, DELETES_STREAM, [LEADS_STREAM]);
  const now = nowOf(deps);
  const stale = now.getTime() - start.readAt.getTime() > deps.options.retention.deleteDays * DAY;
  const window = await readStream(
    start,
    (since) => deps.marketo.activities.pagingToken(since),
    (token) => deps.marketo.activities.deletedLeads({ nextPageToken: token, batchSize: pageSize(deps) }),
    deps.options.maxActivitiesPerRun,
  );
  let calls = merged.calls + window.calls;
  const deleted = new Set(window.items.map((a: Activity) => String(a.leadId)));
  if (stale) {
    const check = await idSetDeletes(deps, deps.options.batchSize);
    calls += check.calls;
    for (const id of check.missing) deleted.add(id);
  }
  pending.deletes.push(...deleted);
  await savePending(deps.store, pending);
  await savePosition(deps.store, DELETES_STREAM, stale ? { at: secondOf(now), ids: [], ...(window.position.token ? { token: window.position.token } : {}) } : window.position);
  const out = summary('pullMergesAndDeletes', merged.read + window.items.length, merged.written, merged.failed, calls, window.hasMore, 'rest');
  return stale ? { ...out, retention: 'deletes-pruned' } : out;
}

/** Activity type names (`activities/types.json`), cached in the schema cache like the describes. */
async function activityTypeNames(deps: PullDeps): Promise<{ names: Map<number, string>; calls: number }> {
  const cached = await deps.store.schemaCache.get('marketo', 'activityTypes');
  let types = cached?.describe as ActivityType[] | undefined;
  let calls = 0;
  if (!Array.isArray(types)) {
    calls++;
    types = JSON.parse(JSON.stringify(await deps.marketo.activities.types())) as ActivityType[];
    await deps.store.schemaCache.put('marketo', 'activityTypes', types);
  }
  return { names: new Map(types.map((t) => [t.id, t.name])), calls };
}

/**
 * Seed step 6: activities of the admin-selected types (`activityQueues`), one watermark per
 * queue, into the CRM `activity` entity keyed on marketoGUID (a re-read activity overwrites
 * itself). Activities of merged-away leads are linked to the winner's CRM person.
 */
export async function pullActivities(deps: PullDeps): Promise<PullStepSummary> {
  let read = 0;
  let written = 0;
  let skipped = 0;
  let calls = 0;
  let hasMore = false;
  let types: Map<number, string> | undefined;
  // Taken before the queues are read: each queue's read ends at or after it.
  const leads = await deps.store.watermarks.get(LEADS_STREAM);
  const leadsToken = leads?.cursor ? (JSON.parse(leads.cursor) as { token?: string }).token : undefined;
  for (const queue of deps.options.activityQueues) {
    const stream = activityQueueStream(queue.name);
    const start = await loadPosition(deps.store, stream, [LEADS_STREAM]);
    if (leadsToken !== undefined && start.stream === stream && start.coveredBy === leadsToken) continue;
    const window = await readStream(
      start,
      (since) => deps.marketo.activities.pagingToken(since),
      (token) => deps.marketo.activities.get({ nextPageToken: token, activityTypeIds: queue.typeIds, batchSize: pageSize(deps) }),
      deps.options.maxActivitiesPerRun,
    );
    calls += window.calls;
    read += window.items.length;
    hasMore ||= window.hasMore;
    if (window.items.length > 0) {
      if (!types) {
        const t = await activityTypeNames(deps);
        types = t.names;
        calls += t.calls;
      }
      const r = await writeActivities(deps, window.items, types);
      written += r.written;
      skipped += r.failed;
    }
    await savePosition(deps.store, stream, { ...window.position, ...(leadsToken !== undefined && !window.hasMore ? { coveredBy: leadsToken } : {}) });
  }
  return summary('pullActivities', read, written, skipped, calls, hasMore, deps.options.activityQueues.length ? 'rest' : 'none');
}

async function writeActivities(deps: PullDeps, activities: readonly Activity[], types: ReadonlyMap<number, string>): Promise<{ written: number; failed: number }> {
  const leadIds = [...new Set(activities.map((a) => String(a.leadId)))];
  const winners = await deps.store.merges.winners('marketo', leadIds);
  const links = await deps.store.idMap.byMarketoIds('lead', [...new Set([...leadIds, ...winners.values()])]);
  const failures: RecordFailure[] = [];
  const records: CrmRecord[] = [];
  const guids: string[] = [];
  for (const a of activities) {
    const id = String(a.leadId);
    const link = links.get(winners.get(id) ?? id);
    try {
      records.push(activityRecord(a, { typeName: types.get(a.activityTypeId) ?? null, ...(link ? { person: { crmType: link.crmType, crmId: link.crmId } } : {}) }));
      guids.push(a.marketoGUID);
    } catch (err) {
      if (!(err instanceof ActivityRecordError)) throw err;
      failures.push({ entity: 'activity', recordKey: a.marketoGUID, operation: PULL_ACTIVITY_OPERATION, source: 'marketo', code: 'MAPPING', reason: err.message });
    }
  }
  let written = 0;
  const ok: string[] = [];
  if (records.length > 0) {
    for (const r of await deps.crm.upsert('activity', records, { keyField: 'marketo_guid' })) {
      if (r.status === 'failed') failures.push({ entity: 'activity', recordKey: guids[r.index]!, operation: PULL_ACTIVITY_OPERATION, source: 'crm', code: r.code, reason: r.reason });
      else {
        written++;
        ok.push(guids[r.index]!);
      }
    }
  }
  await deps.store.errors.record(failures);
  if (ok.length > 0) await deps.store.errors.resolve('activity', PULL_ACTIVITY_OPERATION, ok);
  return { written, failed: failures.length };
}

/** Seed step 7: the deletes step 5 recorded, applied by the delete policy (honour or flag). */
export async function deleteLeadsInCrm(deps: PullDeps): Promise<PullStepSummary> {
  const pending = await loadPending(deps.store);
  if (pending.deletes.length === 0) return summary('deleteLeadsInCrm', 0, 0, 0, 0, false, 'none');
  const r = await applyDeletes(deps, pending.deletes, PULL_DELETE_OPERATION);
  pending.deletes = r.retryDeletes;
  await savePending(deps.store, pending);
  return summary('deleteLeadsInCrm', r.read, r.written, r.failed, 0, false, 'none');
}
