/**
 * When to look at an export job's status next. Pure (no imports, no clock of its own): the
 * `bulkExport` workflow's durable timers and the in-activity wait (`awaitBulkExport`) share it.
 *
 * Without an estimate it is the fixed schedule: `initialMs`, then ×1.5 up to `maxMs`. With one
 * (what the parent expects of the job, from its phase's completed jobs and the jobs ahead of it at
 * Marketo) a poll is moved to when the job can first be done: polls before then are skipped, and
 * the poll after the job's expected end is not left to the next, longer backoff step. Never sooner
 * than `initialMs` after the last look (Marketo refreshes a job's status at most once a minute in
 * production). A job still running at its expected end is polled on the short schedule from there,
 * so a job slower than estimated is seen as soon as without an estimate.
 */

/** What the parent expects of a window's job (runs with the `bootstrap-export-estimates` marker). */
export interface JobEstimate {
  /** Epoch ms (workflow clock) by which the job should be Completed: after the jobs ahead of it at Marketo and its own processing. */
  readyAt: number;
  /** Marketo's processing time expected for this job (from its phase's completed jobs, scaled by window length). */
  processingMs: number;
}

export interface PollTiming {
  initialMs: number;
  maxMs: number;
}

/** What the last look at the job said (status and Marketo's processing start, ISO, second precision). */
export interface JobSeen {
  status: string;
  startedAt?: string | undefined;
}

/** Where a wait stands between polls: the backoff step, and whether the estimate already let the job down once. */
export interface PollCursor {
  backoffMs: number;
  /** Set once a poll at or after the job's expected end found it unfinished: from then on only the short schedule. */
  overdue: boolean;
}

export function firstCursor(timing: PollTiming): PollCursor {
  return { backoffMs: timing.initialMs, overdue: false };
}

/**
 * When the job can first be Completed, as far as the estimate tells (epoch ms), or undefined when
 * it tells nothing. Marketo's `startedAt` is truncated to the second: the start lies half a second
 * after it on average.
 */
export function expectedReadyAt(seen: JobSeen, estimate: JobEstimate, now: number, firstLook: boolean): number {
  if (seen.status === 'Processing' && seen.startedAt) {
    const started = Date.parse(seen.startedAt);
    if (Number.isFinite(started)) return started + 500 + estimate.processingMs;
  }
  // Right after the enqueue the parent's queue model is the best guess; a job still queued at a later
  // look cannot finish before a whole processing time from now.
  return firstLook ? estimate.readyAt : now + estimate.processingMs;
}

/**
 * The delay until the next status poll, and the cursor after it. `firstLook`: the job was just
 * enqueued (its status is the enqueue's answer, not a poll's).
 */
export function nextPollDelay(input: { timing: PollTiming; cursor: PollCursor; seen: JobSeen; now: number; estimate?: JobEstimate | undefined; firstLook: boolean }): { delayMs: number; cursor: PollCursor } {
  const { timing, cursor, seen, now, estimate } = input;
  const backoff = { delayMs: cursor.backoffMs, cursor: { backoffMs: Math.min(Math.round(cursor.backoffMs * 1.5), timing.maxMs), overdue: cursor.overdue } };
  if (!estimate || cursor.overdue) return backoff;
  const readyAt = expectedReadyAt(seen, estimate, now, input.firstLook);
  if (readyAt <= now) {
    // Past its expected end and not done: the short schedule from its start.
    return { delayMs: timing.initialMs, cursor: { backoffMs: Math.min(Math.round(timing.initialMs * 1.5), timing.maxMs), overdue: true } };
  }
  if (!input.firstLook && seen.status !== 'Processing') {
    // Still queued behind jobs that run late: a whole processing time at least, and never more
    // often than the fixed schedule would poll (a short job queued behind long ones would
    // otherwise be polled every few hundred ms).
    return { delayMs: Math.max(readyAt - now, cursor.backoffMs), cursor: backoff.cursor };
  }
  // One poll at the expected end, not before Marketo's refresh; if that finds the job still
  // running, the next one is on the short schedule (`overdue` via the branch above).
  return { delayMs: Math.max(readyAt - now, timing.initialMs), cursor: { backoffMs: timing.initialMs, overdue: false } };
}
