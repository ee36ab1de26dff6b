import { ApplicationFailure } from '@temporalio/common';
import { isMarketoApiError, type MarketoApiError } from '../src/marketo/index.js';

import { FAILURE_TYPES } from '../src/types/failure-types.js';

/** Small random spread so several workers hitting one limit do not retry in lockstep. */
function jitter(ms: number): number {
  return ms + Math.floor(Math.random() * Math.min(2_000, ms / 4 + 1));
}

/**
 * Turns a Marketo client error into the Temporal failure its classification asks for:
 * transient → retryable; rate/queue waits → retryable with `nextRetryDelay`; the daily quota →
 * non-retryable with `resetAt`, so the workflow sleeps on a durable timer instead of burning
 * retries for hours; everything else → non-retryable with Marketo's code and reason.
 */
export function toActivityFailure(err: MarketoApiError): ApplicationFailure {
  const details = [err.toJSON()];
  const c = err.classification;
  switch (c.action) {
    case 'retry':
    case 'reauth':
      return ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES.transient, details, cause: err });
    case 'retry-after':
      return ApplicationFailure.create({
        message: err.message,
        type: FAILURE_TYPES.retryAfter,
        details,
        nextRetryDelay: jitter(c.delayMs ?? 1_000),
        cause: err,
      });
    case 'wait-for-quota-reset':
      return ApplicationFailure.create({
        message: err.message,
        type: FAILURE_TYPES.quotaExhausted,
        nonRetryable: true,
        details: [{ ...err.toJSON(), resetAt: (c.resetAt ?? new Date(Date.now() + (c.delayMs ?? 3_600_000))).toISOString() }],
        cause: err,
      });
    case 'give-up':
      return ApplicationFailure.create({ message: err.message, type: FAILURE_TYPES.rejected, nonRetryable: true, details, cause: err });
  }
}

/** Runs one activity body, translating Marketo errors; other errors keep Temporal's default (retryable). */
export async function marketoCall<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isMarketoApiError(err)) throw toActivityFailure(err);
    throw err;
  }
}
