import { classify, type Classification } from './classification.js';

/** Where the failure was detected: Marketo's envelope, the HTTP layer, the socket, our own limiter, or our parser. */
export type ErrorSource = 'envelope' | 'http' | 'network' | 'local' | 'response';

export interface MarketoApiErrorInit {
  code: string;
  message: string;
  endpoint: string;
  source: ErrorSource;
  requestId?: string;
  httpStatus?: number;
  classification?: Classification;
  cause?: unknown;
}

/**
 * The one error type the client throws. `classification.action` tells the caller what to do; `code` is
 * Marketo's code (string, as on the wire) or a transport pseudo-code (`HTTP_413`, `NETWORK`, …).
 */
export class MarketoApiError extends Error {
  override readonly name = 'MarketoApiError';
  readonly code: string;
  readonly endpoint: string;
  readonly source: ErrorSource;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly classification: Classification;
  /** Marketo's own message, without the endpoint decoration added to `message`. */
  readonly marketoMessage: string;

  constructor(init: MarketoApiErrorInit) {
    super(`Marketo ${init.code} on ${init.endpoint}: ${init.message}${init.requestId ? ` (requestId ${init.requestId})` : ''}`, {
      cause: init.cause,
    });
    this.code = init.code;
    this.endpoint = init.endpoint;
    this.source = init.source;
    this.requestId = init.requestId;
    this.httpStatus = init.httpStatus;
    this.marketoMessage = init.message;
    this.classification = init.classification ?? classify(init.code, init.message);
  }

  get retryable(): boolean {
    return this.classification.action !== 'give-up';
  }

  /** Plain data for logs and Temporal failure details (no stack, no PII beyond Marketo's message). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.marketoMessage,
      endpoint: this.endpoint,
      source: this.source,
      requestId: this.requestId,
      httpStatus: this.httpStatus,
      classification: this.classification,
    };
  }
}

export function isMarketoApiError(err: unknown): err is MarketoApiError {
  return err instanceof MarketoApiError;
}
