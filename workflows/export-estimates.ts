import type { ExportWindow } from './bootstrap-types.js';
import type { JobEstimate } from './export-poll-schedule.js';

/** Marketo processes 2 export jobs at once per subscription; the others wait in its queue, first in first out. */
const MARKETO_SLOTS = 2;
/** Completed jobs per phase the estimate goes by: recent ones, so a phase whose windows grow denser is followed. */
const SAMPLES = 8;

/** A window's length in ms (both ends inclusive, whole seconds). */
function spanMs(window: ExportWindow): number {
  return Math.max(1000, Date.parse(window.endAt) - Date.parse(window.startAt) + 1000);
}

/**
 * The bootstrap's model of Marketo's export queue, for the `bootstrap-export-estimates` marker:
 * how long a phase's jobs take to process (per ms of window, from its completed jobs), and when
 * each job it enqueued should be Completed. A new job starts when all but one of the jobs ahead of
 * it are done and is Completed one processing time later. Deterministic (workflow time only), and
 * only a guess: a child whose job is not done at its expected end polls on the short schedule.
 */
export class ExportEstimates {
  /** Per phase: Marketo processing ms per ms of window, latest last. */
  private readonly rates = new Map<string, number[]>();
  /** Jobs enqueued and not yet forgotten, in enqueue order: when each should be Completed (unknown without an estimate). */
  private readonly jobs = new Map<string, { phase: string; window: ExportWindow; readyAt: number | undefined; sampled: boolean }>();

  /** The job `key` was Completed after `processingMs` at Marketo (counted once per job). */
  completed(key: string, processingMs: number): void {
    const job = this.jobs.get(key);
    if (!job || job.sampled) return;
    job.sampled = true;
    const rates = this.rates.get(job.phase) ?? [];
    rates.push(processingMs / spanMs(job.window));
    if (rates.length > SAMPLES) rates.shift();
    this.rates.set(job.phase, rates);
  }

  /** Expected processing time of a window of `phase`: the recent mean rate times its length (the mean evens out whole-second timestamps). */
  processingMs(phase: string, window: ExportWindow): number | undefined {
    const rates = this.rates.get(phase);
    if (!rates || rates.length === 0) return undefined;
    return (rates.reduce((a, b) => a + b, 0) / rates.length) * spanMs(window);
  }

  /**
   * Registers a job about to be created and enqueued now, behind the jobs still at Marketo
   * (`atMarketo` tells which of the registered ones are); returns its estimate, or undefined
   * while no job of its phase has completed yet. A job ahead without an estimate, or overdue,
   * counts as ending now: a guess that errs early costs a poll, not a late download.
   */
  enqueue(key: string, phase: string, window: ExportWindow, now: number, atMarketo: (key: string) => boolean): JobEstimate | undefined {
    const processingMs = this.processingMs(phase, window);
    const ends = [...this.jobs]
      .filter(([k]) => k !== key && atMarketo(k))
      .map(([, job]) => Math.max(job.readyAt ?? now, now))
      .sort((a, b) => a - b);
    const start = ends.length < MARKETO_SLOTS ? now : ends[ends.length - MARKETO_SLOTS]!;
    const readyAt = processingMs === undefined ? undefined : Math.round(start + processingMs);
    this.jobs.set(key, { phase, window, readyAt, sampled: false });
    return readyAt === undefined || processingMs === undefined ? undefined : { readyAt, processingMs: Math.round(processingMs) };
  }

  /** The window is over (downloaded, failed or cancelled). */
  forget(key: string): void {
    this.jobs.delete(key);
  }
}
