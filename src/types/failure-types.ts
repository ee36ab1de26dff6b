/**
 * Names of the ApplicationFailure types that activities raise for Marketo errors. Plain data, so
 * both the workflow sandbox and the activities import it.
 */
export const FAILURE_TYPES = {
  transient: 'MarketoTransient',
  retryAfter: 'MarketoRetryAfter',
  quotaExhausted: 'MarketoQuotaExhausted',
  rejected: 'MarketoRejected',
} as const;
