import { ActivityFailure, ApplicationFailure, getExternalWorkflowHandle, log, patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { BulkExportActivities, EnqueueOutcome, ExportJobView } from '../activities/bulk-export.js';
import { bulkExportStateQuery, windowUpdateSignal } from './bootstrap-signals.js';
import { type BulkExportInput, type BulkExportResult, type IngestSummary, type QuotaWait, type WindowState } from './bootstrap-types.js';
import { firstCursor, nextPollDelay, type PollCursor } from './export-poll-schedule.js';
import { withQuotaPause } from './quota.js';

const calls = proxyActivities<BulkExportActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

/** A download of up to 500 MB: long start-to-close, short heartbeat so a dead worker is noticed quickly. */
const ingest = (heartbeatTimeout: string) =>
  proxyActivities<BulkExportActivities>({
    startToCloseTimeout: '6 hours',
    heartbeatTimeout,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
  }).ingestBulkExport;

/**
 * The in-activity status wait: heartbeats every few seconds while it sleeps between polls, and
 * may run for its whole budget plus one status call.
 */
const awaitJob = (budgetMs: number) =>
  proxyActivities<BulkExportActivities>({
    startToCloseTimeout: budgetMs + 120_000,
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
  }).awaitBulkExport;

const TERMINAL = new Set<ExportJobView['status']>(['Completed', 'Failed', 'Cancelled']);

/** The file of a Completed job answered 404: it expired (7-day retention) before it was read. */
function fileExpired(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return false;
  const detail = err.cause.details?.[0] as { httpStatus?: unknown; endpoint?: unknown } | undefined;
  return detail?.httpStatus === 404 && typeof detail.endpoint === 'string' && detail.endpoint.endsWith('/file.json');
}

/** `bulkExportStatus` failed because Marketo no longer knows the job (1003 "… not found": past the 30-day job retention). */
function jobGone(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return false;
  const detail = err.cause.details?.[0] as { code?: unknown; message?: unknown } | undefined;
  return detail?.code === '1003' && typeof detail.message === 'string' && /not found/i.test(detail.message);
}

/** Marketo's processing time of a Completed job (its timestamps are whole seconds: ±1 s). */
function marketoProcessingMs(job: ExportJobView): number | undefined {
  const ms = Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '');
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** How one job of a window ended. */
type JobOutcome =
  | { kind: 'ingested'; summary: IngestSummary; exportId: string }
  /** Marketo ended it Failed or Cancelled. */
  | { kind: 'ended'; job: ExportJobView }
  /** Marketo no longer has it (job record or file past retention): the window needs a new job. */
  | { kind: 'gone'; reason: string; error?: unknown };

/**
 * One bulk export window end to end: create → enqueue (a full queue waits on a durable timer) →
 * wait for the job → download and ingest in one heartbeating activity. Only job metadata and
 * counts pass through history; the rows go from Marketo to the CRM inside the activity. A job
 * Marketo ends Failed is recreated, up to `maxJobAttempts`; a job Marketo forgot while the window
 * waited (quota, an operator's pause: the file is kept 7 days, the job 30) is recreated, up to
 * `maxExpiredJobs`, and the parent's progress counts it.
 *
 * Runs with the `bulk-export-fused-steps` marker create and enqueue in one activity and, when
 * `poll.inActivityMs` is set, wait for the job in one activity that polls on the timer schedule
 * for up to that long before going on with durable timers with backoff; otherwise (and in runs
 * started before the marker) every poll is a durable timer and a status activity.
 *
 * Runs with the `bulk-export-poll-estimate` marker poll by the parent's `estimate` when it gives
 * one (`nextPollDelay`: near the job's expected end, then the short schedule), in the activity and
 * on timers alike, and return Marketo's processing time of the job for the parent's next estimates.
 */
export async function bulkExport(input: BulkExportInput & { heartbeatTimeout?: string }): Promise<BulkExportResult> {
  let state: WindowState = 'pending';
  setHandler(bulkExportStateQuery, () => state);
  // Recorded histories made before these changes replay without them. Runs with
  // `bulk-export-fewer-events` carry that one marker for all three earlier ones (each marker is
  // two events, a marker and an upsert of TemporalChangeVersion, in every window).
  const fewerEvents = patched('bulk-export-fewer-events');
  const recreateGone = fewerEvents || patched('bulk-export-recreate-expired');
  const fused = fewerEvents || patched('bulk-export-fused-steps');
  const estimating = fewerEvents || patched('bulk-export-poll-estimate');
  const estimate = estimating ? input.estimate : undefined;
  /** Marketo's processing time of the job that was ingested (runs with the marker). */
  let processingMs: number | undefined;
  const parent = input.parentId ? getExternalWorkflowHandle(input.parentId) : undefined;
  /** The updates sent so far, in order (runs with `bulk-export-fewer-events`); rejected once one failed. */
  let reported: Promise<void> = Promise.resolve();
  const report = async (next: WindowState, quotaWait?: QuotaWait, expired?: string, processed?: number): Promise<void> => {
    if (next === state && !quotaWait && !expired) return;
    const from = state;
    state = next;
    const update = { phase: input.phase, index: input.index, state: next, ...(quotaWait ? { quotaWait } : {}), ...(expired ? { expired } : {}), ...(processed !== undefined ? { processingMs: processed } : {}) };
    if (!fewerEvents) {
      await parent?.signal(windowUpdateSignal, update);
      return;
    }
    // The parent counts a window 'creating' from the moment it starts the child and drops it when
    // the child ends: telling it either is a signal (and a workflow task on each side) for nothing.
    if ((from === 'pending' && next === 'creating') || next === 'done') return;
    // Sent without waiting for the parent's acknowledgement, so the next step is scheduled in the same
    // workflow task; each update goes out only after the one before it was delivered, so the parent
    // sees them in order. A failed delivery fails the window at its next await of `delivered()`.
    const sent = reported.then(() => parent?.signal(windowUpdateSignal, update));
    sent.catch(() => undefined);
    reported = sent;
  };
  /** Waits until every update so far reached the parent (and throws if one could not be delivered). */
  const delivered = (): Promise<void> => reported;
  const quotaAware = <T>(during: WindowState, step: () => Promise<T>): Promise<T> => {
    let paused = false;
    return withQuotaPause(step, (pause) => {
      // Reported fire-and-forget inside the callback; the awaited report below keeps ordering.
      if (pause) {
        paused = true;
        void report('quota-paused', pause);
      } else if (paused) {
        paused = false;
        void report(during);
      }
    });
  };

  const maxAttempts = input.maxJobAttempts ?? 3;
  const maxExpired = input.maxExpiredJobs ?? 5;
  let expired = 0;
  let apiCalls = 0;
  /** Counts a job Marketo forgot; false once the window has had too many. */
  const recreateAfter = async (reason: string): Promise<boolean> => {
    if (expired >= maxExpired) return false;
    expired += 1;
    log.warn('bulk export job expired at Marketo; creating a new one for the window', { window: input.window, reason, expired });
    await report('creating', undefined, reason);
    return true;
  };
  const createStep = () => calls.createBulkExport({ source: input.source, sink: input.sink, window: input.window });

  const runJob = async (): Promise<JobOutcome> => {
    let created: ExportJobView;
    let first: EnqueueOutcome | undefined;
    if (fused) {
      const started = await quotaAware('creating', () => calls.startBulkExport({ source: input.source, sink: input.sink, window: input.window, queueFullMs: input.poll.queueFullMs }));
      created = started.created;
      first = started.enqueued;
      apiCalls += started.apiCalls;
    } else {
      created = await quotaAware('creating', createStep);
      apiCalls += 1;
    }
    let job: ExportJobView = created;
    for (;;) {
      let outcome: EnqueueOutcome;
      if (first) {
        outcome = first;
        first = undefined;
      } else {
        const exportId = created.exportId;
        outcome = await quotaAware('creating', () => calls.enqueueBulkExport({ source: input.source, exportId, queueFullMs: input.poll.queueFullMs }));
        apiCalls += 1;
      }
      if ('missing' in outcome) {
        // The job expired while it waited for queue room or quota: a new one for the same window.
        if (recreateGone && !(await recreateAfter(`export ${created.exportId} was gone when enqueued`))) {
          return { kind: 'gone', reason: `export ${created.exportId} was gone when enqueued` };
        }
        created = await quotaAware('creating', createStep);
        apiCalls += 1;
        continue;
      }
      if (!outcome.queueFull) {
        job = outcome.job;
        break;
      }
      await report('queue-full');
      await sleep(outcome.retryAfterMs);
    }
    await report(job.status === 'Processing' ? 'processing' : 'queued');
    let delay = input.poll.initialMs;
    const timing = { initialMs: input.poll.initialMs, maxMs: input.poll.maxMs };
    let cursor: PollCursor = firstCursor(timing);
    let firstLook = true;
    const budgetMs = input.poll.inActivityMs ?? 0;
    if (fused && budgetMs > 0 && !TERMINAL.has(job.status)) {
      const exportId = created.exportId;
      const seen = { status: job.status, ...(job.startedAt ? { startedAt: job.startedAt } : {}) };
      const waited = await quotaAware(state, () => awaitJob(budgetMs)({ source: input.source, exportId, initialMs: delay, maxMs: input.poll.maxMs, budgetMs, ...(estimate ? { estimate, seen } : {}) }));
      apiCalls += waited.apiCalls;
      if ('missing' in waited) return { kind: 'gone', reason: `export ${exportId} was gone at a status poll` };
      job = waited.job;
      // The timers go on from where the activity's schedule stopped.
      delay = input.poll.maxMs;
      cursor = { backoffMs: delay, overdue: true };
      firstLook = false;
    }
    while (!TERMINAL.has(job.status)) {
      if (estimate) {
        const next = nextPollDelay({ timing, cursor, seen: job, now: Date.now(), estimate, firstLook });
        cursor = next.cursor;
        firstLook = false;
        await sleep(next.delayMs);
      } else {
        await sleep(delay);
        delay = Math.min(Math.round(delay * 1.5), input.poll.maxMs);
      }
      const exportId = created.exportId;
      try {
        job = await quotaAware(state, () => calls.bulkExportStatus({ source: input.source, exportId }));
      } catch (err) {
        if (recreateGone && jobGone(err)) return { kind: 'gone', reason: `export ${exportId} was gone at a status poll` };
        throw err;
      }
      apiCalls += 1;
      if (job.status === 'Processing') await report('processing');
    }
    if (job.status !== 'Completed') return { kind: 'ended', job };
    const completed = job;
    // The parent learns the job's processing time as the job leaves Marketo, not after the download.
    if (estimating) processingMs = marketoProcessingMs(completed);
    await report('downloading', undefined, undefined, processingMs);
    // A spent daily call quota (607) on the file request waits for the reset like an export quota.
    try {
      return { kind: 'ingested', exportId: completed.exportId, summary: await quotaAware('downloading', () => ingest(input.heartbeatTimeout ?? '30 seconds')({ source: input.source, sink: input.sink, runId: input.runId, job: completed })) };
    } catch (err) {
      // Rows already written stay (upserts are idempotent); a new job re-reads the window.
      if (fileExpired(err)) return { kind: 'gone', reason: `the file of export ${completed.exportId} was gone (404)`, error: err };
      throw err;
    }
  };

  for (let attempt = 1; ; attempt++) {
    if (!recreateGone) apiCalls = 0;
    await report('creating');
    let outcome = await runJob();
    // A forgotten job is not an attempt: the window simply starts again with a new job.
    while (recreateGone && outcome.kind === 'gone' && (await recreateAfter(outcome.reason))) outcome = await runJob();
    if (outcome.kind === 'gone') {
      // Runs from before the marker re-ran an expired file as a whole attempt.
      if (!recreateGone) {
        if (attempt < maxAttempts) continue;
        throw outcome.error;
      }
      await report('failed');
      await delivered();
      throw ApplicationFailure.nonRetryable(`bulk export for ${input.window.startAt}..${input.window.endAt}: ${outcome.reason} (${expired} jobs recreated after expiry already)`, 'BulkExportExpired');
    }
    if (outcome.kind === 'ingested') {
      await report('done');
      await delivered();
      const summary = outcome.summary;
      return { ...summary, apiCalls: summary.apiCalls + apiCalls, phase: input.phase, index: input.index, window: input.window, exportId: outcome.exportId, jobAttempts: attempt, ...(expired ? { expiredJobs: expired } : {}), ...(processingMs !== undefined ? { processingMs } : {}) };
    }
    const job = outcome.job;
    if (attempt >= maxAttempts) {
      await report('failed');
      await delivered();
      throw ApplicationFailure.nonRetryable(`bulk export ${job.exportId} for ${input.window.startAt}..${input.window.endAt} ended ${job.status}${job.errorMsg ? `: ${job.errorMsg}` : ''} (${attempt} attempts)`, 'BulkExportFailed');
    }
  }
}
