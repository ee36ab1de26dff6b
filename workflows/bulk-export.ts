import { ActivityFailure, ApplicationFailure, getExternalWorkflowHandle, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { BulkExportActivities, ExportJobView } from '../activities/bulk-export.js';
import { bulkExportStateQuery, windowUpdateSignal } from './bootstrap-signals.js';
import type { BulkExportInput, BulkExportResult, QuotaWait, WindowState } from './bootstrap-types.js';
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

const TERMINAL = new Set<ExportJobView['status']>(['Completed', 'Failed', 'Cancelled']);

/** The file of a Completed job answered 404: it expired (7-day retention) before it was read. */
function fileExpired(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return false;
  const detail = err.cause.details?.[0] as { httpStatus?: unknown; endpoint?: unknown } | undefined;
  return detail?.httpStatus === 404 && typeof detail.endpoint === 'string' && detail.endpoint.endsWith('/file.json');
}

/**
 * One bulk export window end to end: create → enqueue (a full queue waits on a durable timer) →
 * poll status on durable timers with backoff → download and ingest in one heartbeating activity.
 * Only job metadata and counts pass through history; the rows go from Marketo to the CRM inside
 * the activity. A job Marketo ends Failed is recreated, up to `maxJobAttempts`.
 */
export async function bulkExport(input: BulkExportInput & { heartbeatTimeout?: string }): Promise<BulkExportResult> {
  let state: WindowState = 'pending';
  setHandler(bulkExportStateQuery, () => state);
  const parent = input.parentId ? getExternalWorkflowHandle(input.parentId) : undefined;
  const report = async (next: WindowState, quotaWait?: QuotaWait): Promise<void> => {
    if (next === state && !quotaWait) return;
    state = next;
    await parent?.signal(windowUpdateSignal, { phase: input.phase, index: input.index, state: next, ...(quotaWait ? { quotaWait } : {}) });
  };
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
  for (let attempt = 1; ; attempt++) {
    await report('creating');
    let created = await quotaAware('creating', () => calls.createBulkExport({ source: input.source, sink: input.sink, window: input.window }));
    let apiCalls = 1;
    let job: ExportJobView = created;
    for (;;) {
      const outcome = await quotaAware('creating', () => calls.enqueueBulkExport({ source: input.source, exportId: created.exportId, queueFullMs: input.poll.queueFullMs }));
      apiCalls += 1;
      if ('missing' in outcome) {
        // The job expired while it waited for queue room or quota: a new one for the same window.
        created = await quotaAware('creating', () => calls.createBulkExport({ source: input.source, sink: input.sink, window: input.window }));
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
    while (!TERMINAL.has(job.status)) {
      await sleep(delay);
      delay = Math.min(Math.round(delay * 1.5), input.poll.maxMs);
      job = await quotaAware(state, () => calls.bulkExportStatus({ source: input.source, exportId: created.exportId }));
      apiCalls += 1;
      if (job.status === 'Processing') await report('processing');
    }
    if (job.status === 'Completed') {
      await report('downloading');
      // A spent daily call quota (607) on the file request waits for the reset like an export quota.
      let summary;
      try {
        summary = await quotaAware('downloading', () => ingest(input.heartbeatTimeout ?? '30 seconds')({ source: input.source, sink: input.sink, runId: input.runId, job }));
      } catch (err) {
        // Rows already written stay (upserts are idempotent); a new job re-reads the window.
        if (!fileExpired(err) || attempt >= maxAttempts) throw err;
        continue;
      }
      await report('done');
      return { ...summary, apiCalls: summary.apiCalls + apiCalls, phase: input.phase, index: input.index, window: input.window, exportId: job.exportId, jobAttempts: attempt };
    }
    if (attempt >= maxAttempts) {
      await report('failed');
      throw ApplicationFailure.nonRetryable(`bulk export ${job.exportId} for ${input.window.startAt}..${input.window.endAt} ended ${job.status}${job.errorMsg ? `: ${job.errorMsg}` : ''} (${attempt} attempts)`, 'BulkExportFailed');
    }
  }
}
