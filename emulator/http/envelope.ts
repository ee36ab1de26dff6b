/**
 * Marketo's response envelopes. Everything that leaves the emulator as JSON is built here so
 * that lead-database/bulk and asset responses keep their (different) shapes in one place.
 */

/** A business error: answered with HTTP 200, `success:false` and a string code (marketo-api.md §3.1). */
export class MarketoError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MarketoError';
  }
}

/** Messages Marketo uses for response-level codes (marketo-api.md §4.2). */
export const ERROR_MESSAGES: Record<string, string> = {
  '500': 'Internal Server error',
  '502': 'Bad Gateway',
  '600': 'Access token not specified',
  '601': 'Access token invalid',
  '602': 'Access token expired',
  '603': 'Access denied',
  '604': 'Request time-out',
  '605': 'HTTP Method not supported',
  '607': 'Daily quota reached',
  '608': 'API Temporarily Unavailable',
  '609': 'Invalid JSON',
  '610': 'Requested resource not found',
  '611': 'System error',
  '612': 'Invalid Content Type',
  '613': 'Invalid Multipart Request',
  '614': 'Invalid Subscription',
};

export function marketoError(code: string, message?: string): MarketoError {
  return new MarketoError(code, message ?? ERROR_MESSAGES[code] ?? 'Error');
}

export interface ErrorItem {
  code: string;
  message: string;
}

/** The per-record `reasons` item of sync/delete results. */
export function reason(code: string, message: string): ErrorItem {
  return { code, message };
}

let requestCounter = Math.floor(Math.random() * 0xfffff);

/** `{hex}#{epochMsHex}`: a short per-node counter, then server time in ms (marketo-api.md §1.5). */
export function newRequestId(nowMs: number): string {
  requestCounter = (requestCounter + 1) % 0xfffff;
  return `${requestCounter.toString(16)}#${Math.floor(nowMs).toString(16)}`;
}

export interface PageInfo {
  nextPageToken?: string;
  moreResult?: boolean;
}

/** Lead database / bulk success envelope. */
export function success(requestId: string, result?: unknown[], page: PageInfo = {}, warnings?: unknown[]): Record<string, unknown> {
  const body: Record<string, unknown> = { requestId };
  if (result !== undefined) body.result = result;
  body.success = true;
  if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
  if (page.moreResult !== undefined) body.moreResult = page.moreResult;
  if (warnings !== undefined) body.warnings = warnings;
  return body;
}

/** Lead database / bulk error envelope (HTTP 200). */
export function failure(requestId: string, code: string, message: string): Record<string, unknown> {
  return { requestId, success: false, errors: [{ code, message }] };
}

export const NO_ASSETS_WARNING = 'No assets found for the given search criteria.';

/** Asset API envelope: `errors` and `warnings` always present; empty result has no `result` key. */
export function assetSuccess(requestId: string, result: unknown[]): Record<string, unknown> {
  if (result.length === 0) return { success: true, errors: [], requestId, warnings: [NO_ASSETS_WARNING] };
  return { success: true, errors: [], requestId, warnings: [], result };
}

export function assetFailure(requestId: string, code: string, message: string): Record<string, unknown> {
  return { success: false, errors: [{ code, message }], requestId, warnings: [] };
}

/** Per-second UTC timestamp as the lead database writes it: `YYYY-MM-DDTHH:MM:SSZ`. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19) + 'Z';
}

/** The asset API's odd timestamp form `2017-07-27T01:38:33Z+0000` (marketo-api.md §1.4). */
export function assetTimestamp(epochSeconds: number): string {
  return isoSeconds(epochSeconds) + '+0000';
}
