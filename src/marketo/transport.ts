import type { z } from 'zod';
import type { Envelope } from './envelope.js';
import type { RequestSpec, StreamResponse } from './http.js';

/**
 * What endpoint modules (and the bulk APIs) need from the client: one authenticated, rate-limited,
 * classified call. Kept as an interface so endpoint modules do not depend on the client class.
 */
export interface MarketoTransport {
  /** Sends the call and returns the parsed envelope; throws `MarketoApiError` for any failure. */
  request<S extends z.ZodType>(spec: RequestSpec, itemSchema: S): Promise<Envelope<z.output<S>>>;
  /**
   * Same path through auth, limiter and classification, but the body is streamed and the status and headers
   * are returned for the caller to interpret (206 partial content, 404 plain text from bulk file endpoints).
   * Throws for 5xx, 401/413/414/429 and for JSON envelopes with `success:false`.
   */
  requestStream(spec: RequestSpec): Promise<StreamResponse>;
}
