import { ActivityFailure, ApplicationFailure, log, sleep } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../src/types/failure-types.js';

export interface QuotaPause {
  /** ISO time Marketo's daily quota is expected back (00:00 America/Chicago). */
  resetAt: string;
  reason: string;
}

/** When an activity failed because a Marketo daily quota is spent, the pause it asks for. */
export function quotaPauseOf(err: unknown): QuotaPause | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FAILURE_TYPES.quotaExhausted) return undefined;
  const detail = cause.details?.[0] as { resetAt?: unknown } | undefined;
  if (typeof detail?.resetAt !== 'string') return undefined;
  return { resetAt: detail.resetAt, reason: cause.message };
}

/**
 * Runs `step`; when Marketo's daily quota (calls, or bulk export bytes) is spent, waits on a durable
 * timer until the reset and runs it again. `onPause` lets the caller show the pause in its status.
 */
export async function withQuotaPause<T>(step: () => Promise<T>, onPause?: (pause: QuotaPause | undefined) => void): Promise<T> {
  for (;;) {
    try {
      const result = await step();
      onPause?.(undefined);
      return result;
    } catch (err) {
      const pause = quotaPauseOf(err);
      if (!pause) throw err;
      onPause?.(pause);
      const waitMs = Math.max(1_000, Date.parse(pause.resetAt) - Date.now());
      log.warn('Marketo quota spent; waiting for the reset', { resetAt: pause.resetAt });
      // A minute past the reset: Marketo's and our clocks need not agree to the second.
      await sleep(waitMs + 60_000);
    }
  }
}
