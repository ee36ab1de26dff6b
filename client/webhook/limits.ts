/**
 * The receiver's fixed numbers, in a module with no imports: the CLI's option help needs them
 * before (and without) loading the receiver itself.
 */

export const WEBHOOK_PATH = '/webhooks/marketo';

/** Marketo gives up on a webhook after 30 s; Temporal gets at most this long to accept a request. */
export const START_TIMEOUT_MS = 10_000;

/** The longest wait mode allows: with the start's 10 s, the answer stays inside Marketo's 30 s. */
export const MAX_WAIT_MS = 15_000;

/**
 * Wait mode by default (docs/webhook.md): Marketo's flow step waits for the answer, which paces its
 * 20 connections to the pipeline's speed (p99 < 1 s in the 1,000-webhook bench, against a queue of
 * many seconds when answers come at once), and the answer carries the CRM id for response mappings.
 */
export const DEFAULT_WAIT_MS = 10_000;
