import type { CrmConnector, CrmEntityName, CrmRecord } from '../../crm/connector.js';
import type { MarketoClient } from '../../marketo/index.js';
import type { StateStore } from '../../store/state-store.js';
import { readChangeWindow, type ChangeWindow } from './change-reader.js';
import { loadPushContext, type PushContext } from './context.js';
import type { PushOptions } from './options.js';
import { IMPORT_BATCH_FAILED } from './person-writer.js';
import { deleteStream, PUSH_DELETE_OPERATION, PUSH_OPERATION, upsertStream } from './streams.js';
import { PushTally } from './tally.js';

export interface PushDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  options: PushOptions;
}

/** What a step reports: counts only (it lands in workflow history), never record values. */
export interface StepSummary {
  step: string;
  /** CRM changes read (before aggregation), plus ledger entries retried. */
  read: number;
  written: number;
  /** Records ledgered instead of written. */
  skipped: number;
  /** Marketo calls made (describes, writes, lookups; bulk status polls not counted). */
  calls: number;
  /** More changes wait behind this run's budget: call the step again. */
  hasMore: boolean;
  mode?: 'rest' | 'bulk' | 'none';
  /** The mapping has this entity switched off: nothing read, position kept. */
  disabled?: boolean;
  /**
   * Records Marketo refused because the mapping names a field it no longer has (1006): the schema
   * changed since the last Describe. The loop describes again at the next cycle instead of waiting
   * for its cadence.
   */
  schemaDrift?: number;
}

/**
 * Reads the windows of the given streams, lets `write` push them, then stores the ledger and id
 * map and only then moves each stream's position. A Marketo call that fails as a whole throws
 * out of here before any position moves, so the next attempt reads the same changes again
 * (writes are createOrUpdate/delete by key: repeating them is harmless).
 */
export async function runStep(
  deps: PushDeps,
  step: string,
  /** The streams to read; an entity whose mapping is off is not read and keeps its position. */
  entities: (context: PushContext) => readonly CrmEntityName[],
  kind: 'upsert' | 'delete',
  write: (context: PushContext, windows: Map<CrmEntityName, ChangeWindow>, tally: PushTally) => Promise<{ calls: number; read?: number; mode?: StepSummary['mode'] }>,
): Promise<StepSummary> {
  const { context, describeCalls } = await loadPushContext(deps);
  const streams = entities(context);
  if (streams.length === 0) return { step, read: 0, written: 0, skipped: 0, calls: describeCalls, hasMore: false, disabled: true };
  const windows = new Map<CrmEntityName, ChangeWindow>();
  let budget = deps.options.maxRecordsPerRun;
  for (const entity of streams) {
    if (budget <= 0) break;
    const stream = kind === 'upsert' ? upsertStream(entity) : deleteStream(entity);
    const position = await deps.store.watermarks.get(stream);
    const window = await readChangeWindow(deps.crm, entity, kind, { cursor: position?.cursor ?? undefined }, { pageSize: deps.options.pageSize, max: budget });
    budget -= window.scanned;
    windows.set(entity, window);
  }
  const tally = new PushTally(kind === 'upsert' ? PUSH_OPERATION : PUSH_DELETE_OPERATION);
  const result = await write(context, windows, tally);
  await tally.flush(deps.store);
  for (const [entity, window] of windows) {
    const stream = kind === 'upsert' ? upsertStream(entity) : deleteStream(entity);
    await deps.store.watermarks.set(stream, { watermark: window.lastChangedAt ? new Date(window.lastChangedAt) : null, cursor: window.cursor });
  }
  const read = [...windows.values()].reduce((n, w) => n + w.read, 0) + (result.read ?? 0);
  return {
    step,
    read,
    written: tally.written,
    skipped: tally.skipped,
    calls: describeCalls + result.calls,
    hasMore: windows.size < streams.length || [...windows.values()].some((w) => w.hasMore),
    ...(result.mode ? { mode: result.mode } : {}),
    ...(tally.schemaDrift > 0 ? { schemaDrift: tally.schemaDrift } : {}),
  };
}

/** Automatic attempts for records of a failed import batch; then they wait for an operator. */
const MAX_AUTOMATIC_ATTEMPTS = 10;

/**
 * Records to push again, read fresh from the CRM: those an operator asked to retry (ledger
 * status `retrying`) and those whose whole import batch failed (open `IMPORT_BATCH_FAILED`:
 * Marketo's failure, not the record's, and the stream's position has already passed them).
 */
export async function ledgerRetries(deps: PushDeps, entity: CrmEntityName, pending: readonly CrmRecord[]): Promise<CrmRecord[]> {
  const due = await deps.store.errors.dueForRetry(entity, PUSH_OPERATION, 1000);
  const batchFailed = (await deps.store.errors.list({ status: 'open', entity, limit: deps.options.maxRecordsPerRun }))
    .filter((e) => e.operation === PUSH_OPERATION && e.code === IMPORT_BATCH_FAILED && e.attempts < MAX_AUTOMATIC_ATTEMPTS);
  const have = new Set(pending.map((r) => String(r.id)));
  const ids = [...new Set([...due, ...batchFailed].map((e) => e.recordKey))].filter((id) => !have.has(id));
  return ids.length === 0 ? [] : deps.crm.getRecords(entity, ids);
}
