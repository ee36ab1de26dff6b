import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { CrmConnector } from '../src/crm/connector.js';
import { BulkExtractApi, isQueueFull, type ExportTarget } from '../src/marketo/bulk/extract.js';
import { ChecksumMismatchError, downloadExport, downloadPositionSchema } from '../src/marketo/bulk/download.js';
import { exportFormatSchema } from '../src/marketo/bulk/formats.js';
import type { ExportRequestByKind } from '../src/marketo/bulk/export-requests.js';
import { refetchMalformedLeads, type LeadRefetch, type MalformedRecord } from '../src/marketo/bulk/lead-refetch.js';
import { malformedLineEntry } from '../src/marketo/bulk/malformed-entry.js';
import { defaultRowBudget, RowBudget } from '../src/marketo/bulk/row-budget.js';
import type { ExportKind, RowByKind } from '../src/marketo/bulk/rows.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import { isMarketoApiError, type MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import type { ExportSource, ExportWindow, IngestSink, IngestSummary, LoadedAlongside } from '../workflows/bootstrap-types.js';
import { firstCursor, nextPollDelay, type JobEstimate, type JobSeen } from '../workflows/export-poll-schedule.js';
import { marketoCall } from './failures.js';
import { BootstrapStaging } from './bootstrap-staging.js';
import type { IngestBatchOutcome, IngestSinkFactory, IngestSinkImpl } from './ingest-sink.js';
import { BOOTSTRAP_SINKS } from './sinks/index.js';

export interface BulkExportActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** Rows per CRM write and per heartbeat (each heartbeat marks a committed position). */
  batchSize?: number;
  /** Batch writes of one download in flight at once (default 2), besides the batch being filled. */
  writeConcurrency?: number;
  /** Sinks beyond the built-in ones (activities/sinks/index.ts), by name; e.g. the marketing sinks. */
  sinks?: Record<string, IngestSinkFactory>;
  /**
   * Rows parsed but not yet committed, across every download of this worker (default: from the
   * heap limit, `defaultRowBudget`). Bounds the ingest's memory whatever the number of windows.
   */
  maxRowsInFlight?: number;
}

export interface ExportJobView {
  exportId: string;
  status: 'Created' | 'Queued' | 'Processing' | 'Completed' | 'Failed' | 'Cancelled';
  numberOfRecords?: number;
  fileSize?: number;
  fileChecksum?: string;
  format?: 'CSV' | 'TSV' | 'SSV';
  errorMsg?: string;
  /** Marketo's job times (ISO, second precision): what the poll schedule and the parent's estimates go by. */
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

export type EnqueueOutcome =
  | { queueFull: false; job: ExportJobView }
  | { queueFull: true; retryAfterMs: number }
  /** The Created job is gone (expired while the queue or the quota kept it waiting): create it again. */
  | { queueFull: false; missing: true };

/** What `startBulkExport` did: the job it created and, when the enqueue was answered, that answer. */
export interface StartOutcome {
  created: ExportJobView;
  /**
   * Absent when the enqueue failed (quota, a transient error): the workflow enqueues `created` with
   * its own step, which waits out quotas and retries, instead of this step creating a second job.
   */
  enqueued?: EnqueueOutcome;
  apiCalls: number;
}

/** What `awaitBulkExport` saw: the job at its last poll (terminal unless the time ran out), or that it is gone. */
export type AwaitOutcome = { job: ExportJobView; apiCalls: number } | { missing: true; apiCalls: number };

export interface AwaitInput {
  source: ExportSource;
  exportId: string;
  /** First poll after this long, then ×1.5 up to `maxMs` (the workflow's timer schedule). */
  initialMs: number;
  maxMs: number;
  /** Give up waiting in the activity after this long: the workflow goes on with durable timers. */
  budgetMs: number;
  /**
   * What the parent expects of the job, and the job as the enqueue left it: polls go by
   * `nextPollDelay` (at the expected end, then the short schedule) instead of the fixed schedule.
   */
  estimate?: JobEstimate;
  seen?: JobSeen;
}

/** Heartbeats while an activity sleeps between polls: a dead worker is noticed well within the heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 5_000;

/** Marketo's answer for an export id it does not know (never existed, another user's, or past the 30-day job retention). */
function isJobGone(err: unknown): boolean {
  return isMarketoApiError(err) && err.code === '1003' && /not found/i.test(err.marketoMessage);
}

export interface IngestInput {
  source: ExportSource;
  sink: IngestSink;
  runId: string;
  job: ExportJobView;
}

/** What a download heartbeats: the last position whose rows are committed in the CRM, and the counts so far. */
const progressSchema = z.object({
  position: downloadPositionSchema,
  written: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  apiCalls: z.number().int().nonnegative(),
  loaded: z.partialRecord(z.enum(['company', 'salesPerson']), z.object({ records: z.number().int().nonnegative(), written: z.number().int().nonnegative(), failed: z.number().int().nonnegative(), apiCalls: z.number().int().nonnegative() })).optional(),
});
type IngestProgress = z.infer<typeof progressSchema>;

/** A batch handed to the sink: committed (`outcome` set) or still writing. */
interface InFlightWrite {
  /** The file position just past the batch's last line. */
  end: IngestProgress['position'];
  /** Settles once the batch is committed (or failed) and its rows are given back to the budget. */
  written: Promise<void>;
  outcome?: IngestBatchOutcome;
}

function addLoaded(into: LoadedAlongside | undefined, more: LoadedAlongside): LoadedAlongside {
  const out: LoadedAlongside = { ...into };
  for (const kind of ['company', 'salesPerson'] as const) {
    const a = out[kind];
    const b = more[kind];
    if (b) out[kind] = a ? { records: a.records + b.records, written: a.written + b.written, failed: a.failed + b.failed, apiCalls: a.apiCalls + b.apiCalls } : { ...b };
  }
  return out;
}

function targetOf(source: ExportSource): ExportTarget {
  return source.kind === 'customObjects' ? { kind: 'customObjects', apiName: source.apiName } : { kind: source.kind };
}

/** The ledger's entity for a line of an export file that could not be read as a record of its kind. */
function ledgerEntity(source: ExportSource): string {
  switch (source.kind) {
    case 'leads':
      return 'lead';
    case 'activities':
      return 'activity';
    case 'programMembers':
      return 'programMember';
    case 'customObjects':
      return source.apiName;
  }
}

type JobFields = Omit<ExportJobView, 'exportId' | 'status'>;
function view(job: { exportId: string; status: ExportJobView['status'] } & { [K in keyof JobFields]?: JobFields[K] | undefined }): ExportJobView {
  const out: ExportJobView = { exportId: job.exportId, status: job.status };
  if (job.numberOfRecords !== undefined) out.numberOfRecords = job.numberOfRecords;
  if (job.fileSize !== undefined) out.fileSize = job.fileSize;
  if (job.fileChecksum !== undefined) out.fileChecksum = job.fileChecksum;
  if (job.format !== undefined) out.format = job.format;
  if (job.errorMsg !== undefined) out.errorMsg = job.errorMsg;
  if (job.queuedAt !== undefined) out.queuedAt = job.queuedAt;
  if (job.startedAt !== undefined) out.startedAt = job.startedAt;
  if (job.finishedAt !== undefined) out.finishedAt = job.finishedAt;
  return out;
}

/**
 * Bulk export steps as activities: each call is one Marketo request (create, enqueue, status) so
 * the workflow owns every wait on durable timers; the download streams straight into the CRM.
 */
export function createBulkExportActivities(deps: BulkExportActivityDeps) {
  const api = new BulkExtractApi(deps.marketo);
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  const batchSize = deps.batchSize ?? 1000;
  const writeConcurrency = deps.writeConcurrency ?? 2;
  // One budget for every download of this worker: memory follows it, not the number of windows.
  const budget = new RowBudget(deps.maxRowsInFlight ?? defaultRowBudget());
  // Built once per worker process: a sink may cache what every window needs (e.g. the mapping).
  const sinks = new Map<string, IngestSinkImpl>(Object.entries({ ...BOOTSTRAP_SINKS, ...deps.sinks }).map(([name, make]) => [name, make(deps)]));
  const sinkFor = (name: IngestSink, source: ExportSource): IngestSinkImpl => {
    const sink = sinks.get(name);
    if (!sink) throw ApplicationFailure.nonRetryable(`no ingest sink named '${name}' (registered: ${[...sinks.keys()].join(', ')})`, 'UnknownSink');
    if (sink.rowKind !== source.kind) throw ApplicationFailure.nonRetryable(`sink '${name}' takes ${sink.rowKind} rows, not ${source.kind}`, 'SinkMismatch');
    return sink;
  };

  /**
   * What becomes of a batch's malformed lines: leads are fetched again by id (lead-refetch.ts);
   * other kinds keep their entries (activities have no read by GUID; program members and custom
   * objects would need rows rebuilt from other shapes: not done).
   */
  const refetchFor = (source: ExportSource, bad: readonly MalformedRecord<RecordFailure>[], columns: readonly string[] | undefined): Promise<LeadRefetch<RecordFailure>> =>
    source.kind === 'leads' ? refetchMalformedLeads(deps.marketo, columns, bad) : Promise.resolve({ rows: [], resolved: [], open: bad.map((m) => m.entry), apiCalls: 0 });
  /** Entries that need nothing more, kept as a record of what happened (resolved, not open). */
  const recordResolved = async (entries: readonly RecordFailure[]): Promise<void> => {
    await deps.store.errors.record(entries);
    await deps.store.errors.resolveRecords(entries[0]!.operation, entries.map((e) => ({ entity: e.entity, recordKey: e.recordKey })));
  };

  return {
    async createBulkExport(input: { source: ExportSource; sink?: IngestSink; window: ExportWindow }): Promise<ExportJobView> {
      // Histories recorded before sinks existed name no sink: those were all lead windows.
      const sink = sinkFor(input.sink ?? 'leads', input.source);
      return marketoCall(async () => {
        const request = (await sink.exportRequest(input.source, input.window)) as ExportRequestByKind[ExportKind];
        return view(await api.create(targetOf(input.source), request));
      });
    },

    /** Enqueues; a full queue (1029) is an answer, not a failure, so the workflow can wait on a timer. */
    async enqueueBulkExport(input: { source: ExportSource; exportId: string; queueFullMs: number }): Promise<EnqueueOutcome> {
      return marketoCall(async () => {
        try {
          return { queueFull: false, job: view(await api.enqueue(targetOf(input.source), input.exportId)) };
        } catch (err) {
          if (isQueueFull(err)) return { queueFull: true, retryAfterMs: input.queueFullMs };
          if (isJobGone(err)) return { queueFull: false, missing: true };
          throw err;
        }
      });
    },

    /**
     * Create and enqueue in one step (one activity round trip instead of two per window). Once the
     * job exists this step never fails: an enqueue that did not get an answer is left to the
     * workflow's enqueue step, so a retry of this one cannot leave a second job behind.
     */
    async startBulkExport(input: { source: ExportSource; sink?: IngestSink; window: ExportWindow; queueFullMs: number }): Promise<StartOutcome> {
      const sink = sinkFor(input.sink ?? 'leads', input.source);
      const target = targetOf(input.source);
      const created = await marketoCall(async () => view(await api.create(target, (await sink.exportRequest(input.source, input.window)) as ExportRequestByKind[ExportKind])));
      try {
        return { created, enqueued: { queueFull: false, job: view(await api.enqueue(target, created.exportId)) }, apiCalls: 2 };
      } catch (err) {
        if (isQueueFull(err)) return { created, enqueued: { queueFull: true, retryAfterMs: input.queueFullMs }, apiCalls: 2 };
        if (isJobGone(err)) return { created, enqueued: { queueFull: false, missing: true }, apiCalls: 2 };
        return { created, apiCalls: 2 };
      }
    },

    /**
     * Polls the job's status inside the activity, on the same schedule the workflow's timers use
     * (Marketo refreshes status at most once a minute), until it is Completed, Failed or Cancelled,
     * or `budgetMs` has passed. A job that finishes is seen at the next poll and the workflow starts
     * its download at once, instead of a timer, a workflow task and a status activity per poll.
     * With an estimate the polls go by it (`nextPollDelay`): one near the job's expected end, then
     * the short schedule. Heartbeats while it sleeps; a retry starts the wait over (nothing is lost:
     * it only reads).
     */
    async awaitBulkExport(input: AwaitInput): Promise<AwaitOutcome> {
      const ctx = Context.current();
      const target = targetOf(input.source);
      const deadline = Date.now() + input.budgetMs;
      const timing = { initialMs: input.initialMs, maxMs: input.maxMs };
      let cursor = firstCursor(timing);
      let seen: JobSeen = input.seen ?? { status: 'Queued' };
      let firstLook = true;
      let apiCalls = 0;
      return marketoCall(async () => {
        for (;;) {
          const next = nextPollDelay({ timing, cursor, seen, now: Date.now(), estimate: input.estimate, firstLook });
          cursor = next.cursor;
          firstLook = false;
          const wakeAt = Math.min(Date.now() + next.delayMs, deadline);
          for (let now = Date.now(); now < wakeAt; now = Date.now()) {
            ctx.heartbeat({ apiCalls });
            await ctx.sleep(Math.min(HEARTBEAT_EVERY_MS, wakeAt - now));
          }
          let job: ExportJobView;
          try {
            apiCalls += 1;
            job = view(await api.status(target, input.exportId));
          } catch (err) {
            if (isJobGone(err)) return { missing: true, apiCalls };
            throw err;
          }
          seen = job;
          if (job.status === 'Completed' || job.status === 'Failed' || job.status === 'Cancelled' || Date.now() + cursor.backoffMs > deadline) return { job, apiCalls };
        }
      });
    },

    async bulkExportStatus(input: { source: ExportSource; exportId: string }): Promise<ExportJobView> {
      return marketoCall(async () => view(await api.status(targetOf(input.source), input.exportId)));
    },

    /**
     * Downloads a Completed export and writes its rows through the sink in batches. Whenever the
     * committed batches reach further into the file it heartbeats the position; a retry (worker
     * crash, timeout) resumes from the last heartbeat, so at most `writeConcurrency` batches are
     * written twice, and writes are idempotent.
     */
    async ingestBulkExport(input: IngestInput): Promise<IngestSummary> {
      return marketoCall(async () => {
        const ctx = Context.current();
        const startedAt = Date.now();
        const details: unknown = ctx.info.heartbeatDetails;
        const resumed = details === undefined ? undefined : progressSchema.parse(details);
        const progress: IngestProgress = resumed ?? { position: { byteOffset: 0, rows: 0 }, written: 0, failed: 0, apiCalls: 0 };
        const sink = sinkFor(input.sink, input.source);
        const target = targetOf(input.source);
        const opener = api.fileOpener(target, input.job.exportId);
        let calls = 0;
        const open = (start: number, end?: number) => {
          calls += 1;
          return opener(start, end);
        };
        let batch: RowByKind[ExportKind][] = [];
        let malformed: MalformedRecord<RecordFailure>[] = [];
        let batchEnd = progress.position;
        // Batches are written while the next ones download and parse, up to `writeConcurrency` at
        // once. They may finish out of order, but a heartbeat only ever marks the end of the
        // longest run of committed batches from the file's start, so a resume re-reads nothing lost.
        const inflight: InFlightWrite[] = [];
        let writeMs = 0;
        let busySince = 0;
        const heartbeat = () => ctx.heartbeat({ ...progress, apiCalls: progress.apiCalls + calls });
        const commitFinished = (): void => {
          let advanced = false;
          while (inflight[0]?.outcome) {
            const done = inflight.shift()!;
            progress.written += done.outcome!.written;
            progress.failed += done.outcome!.failed;
            progress.apiCalls += done.outcome!.apiCalls ?? 0;
            if (done.outcome!.loaded) progress.loaded = addLoaded(progress.loaded, done.outcome!.loaded);
            progress.position = done.end;
            advanced = true;
          }
          if (inflight.length === 0) writeMs += Date.now() - busySince;
          if (advanced) heartbeat();
        };
        // The rows of the batch being filled, taken from the worker's budget before it fills;
        // parsing stops (and the socket with it) while the budget is spent by other batches.
        const lease = budget.lease();
        let filling = 0;
        const takeBudget = async (): Promise<void> => {
          // A file smaller than a batch (most activity windows) takes only what it holds.
          const left = input.job.numberOfRecords === undefined ? batchSize : input.job.numberOfRecords - batchEnd.rows;
          const taking = lease.take(Math.max(1, Math.min(batchSize, left)));
          // Waiting for other windows' writes is not being stuck: keep the heartbeat alive.
          const alive = setInterval(heartbeat, 5_000);
          try {
            filling = await taking;
          } finally {
            clearInterval(alive);
          }
        };
        /** Hands the filled batch to a write; `more` takes the budget for the next batch (not at the file's end). */
        const flush = async (more = true): Promise<void> => {
          if (batch.length === 0 && malformed.length === 0) return;
          const rows = batch;
          const bad = malformed;
          const end = batchEnd;
          const columns = end.columns;
          batch = [];
          malformed = [];
          // Bounded: at most writeConcurrency batches wait in memory besides the one being filled.
          while (inflight.length >= writeConcurrency) await inflight[0]!.written;
          // The filled batch's budget goes with its write.
          const held = filling;
          filling = 0;
          if (inflight.length === 0) busySince = Date.now();
          const entry: InFlightWrite = { end, written: Promise.resolve() };
          entry.written = (async () => {
            try {
              // Leads of malformed lines are fetched again by id and written with the batch, so they
              // are mapped, staged and linked like the rest; the other lines are ledgered. Both
              // happen before any heartbeat passes the lines: a retry from an earlier heartbeat
              // reads them, and fetches them, again.
              const again = bad.length > 0 ? await refetchFor(input.source, bad, columns) : undefined;
              const all = again && again.rows.length > 0 ? [...rows, ...again.rows] : rows;
              const [outcome] = await Promise.all([
                all.length > 0 ? sink.write(all, { runId: input.runId, source: input.source }) : Promise.resolve<IngestBatchOutcome>({ written: 0, failed: 0 }),
                again && again.open.length > 0 ? deps.store.errors.record(again.open) : undefined,
              ]);
              // Re-fetched lines leave an entry saying so, resolved: only once their rows are committed.
              if (again && again.resolved.length > 0) await recordResolved(again.resolved);
              entry.outcome = { ...outcome, failed: outcome.failed + (again?.open.length ?? 0), apiCalls: (outcome.apiCalls ?? 0) + (again?.apiCalls ?? 0) };
              commitFinished();
            } finally {
              lease.give(held);
            }
          })();
          // Awaited when the window is full or at the end; until then a failure must not count as unhandled.
          entry.written.catch(() => undefined);
          inflight.push(entry);
          if (more) await takeBudget();
        };
        // Rethrows the first failed write (in file order) once everything before it is committed.
        const drain = async (): Promise<void> => {
          while (inflight.length > 0) await inflight[0]!.written;
        };
        // A cancelled activity stops waiting for budget (its download is being torn down anyway).
        ctx.cancellationSignal.addEventListener('abort', () => lease.close(), { once: true });
        const download = takeBudget().then(() => downloadExport(
          {
            open,
            kind: input.source.kind,
            format: exportFormatSchema.parse(input.job.format ?? 'CSV'),
            expectedSize: input.job.fileSize,
            expectedChecksum: input.job.fileChecksum,
            from: resumed?.position,
            signal: ctx.cancellationSignal,
            onMalformed: (bad, position) => {
              malformed.push({ bad, entry: malformedLineEntry(ledgerEntity(input.source), 'bootstrap', input.job.exportId, bad, position.rows) });
              batchEnd = position;
              // A re-fetched lead is written with the batch: it counts towards the batch's size.
              return batch.length + malformed.length >= batchSize ? flush() : undefined;
            },
          },
          // Not async: a promise per row would cost a microtask hop each; only a full batch is awaited.
          (row, position) => {
            batch.push(row);
            batchEnd = position;
            return batch.length + malformed.length >= batchSize ? flush() : undefined;
          },
        ));
        let summary: Awaited<typeof download>;
        try {
          try {
            summary = await download;
          } catch (err) {
            if (!(err instanceof ChecksumMismatchError)) throw err;
            // Rows already written came from bytes that did not hash right, and a resume would re-read only
            // the tail: the retry must read the whole file again (writes are upserts, so that is harmless).
            await Promise.allSettled(inflight.map((w) => w.written));
            // Records loaded for other phases stay loaded (their keys are not asked for again): keep their counts.
            ctx.heartbeat({ position: { byteOffset: 0, rows: 0 }, written: 0, failed: 0, apiCalls: progress.apiCalls + calls, ...(progress.loaded ? { loaded: progress.loaded } : {}) });
            throw err;
          }
          await flush(false);
          await drain();
        } finally {
          // The batch never filled (the file ended) and, after a failure, batches still writing.
          lease.close();
        }
        return {
          rows: summary.rows,
          malformed: summary.malformed,
          bytes: summary.bytes,
          written: progress.written,
          failed: progress.failed,
          apiCalls: progress.apiCalls + calls,
          ...(progress.loaded ? { loaded: progress.loaded } : {}),
          resumedFrom: resumed ? resumed.position.byteOffset : 0,
          ingestMs: Date.now() - startedAt,
          startedAt,
          finishedAt: Date.now(),
          writeMs,
        };
      });
    },

    async stagedPeople(input: { runId: string }): Promise<number> {
      return staging.count(input.runId);
    },
  };
}

export type BulkExportActivities = ReturnType<typeof createBulkExportActivities>;
