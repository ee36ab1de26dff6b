import type { Got } from 'got';
import { z } from 'zod';
import { classify, classifyHttpStatus } from './classification.js';
import type { Clock } from './clock.js';
import { MarketoApiError } from './errors.js';
import { send, prepareRequest } from './http.js';
import type { RateLimiter } from './rate-limiter.js';

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'token_type must be bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: z.string().optional(),
});

const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export interface TokenCacheOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Renew this long before Marketo says the token expires (covers clock skew and in-flight calls). */
  renewBeforeMs: number;
  http: Got;
  limiter: RateLimiter;
  clock: Clock;
  timeoutMs?: number;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  renewAt: number;
}

const ENDPOINT = 'GET /identity/oauth/token';

/** OAuth client-credentials token, fetched once for all concurrent callers and renewed ahead of expiry. */
export class TokenCache {
  private current: CachedToken | undefined;
  private pending: Promise<string> | undefined;
  private fetches = 0;

  constructor(private readonly options: TokenCacheOptions) {}

  /** How many times the identity endpoint was called (for tests and telemetry). */
  get fetchCount(): number {
    return this.fetches;
  }

  async token(): Promise<string> {
    const now = this.options.clock.now();
    if (this.current && now < this.current.renewAt) return this.current.value;
    return this.refresh();
  }

  /** Drops the token if it is still the one that failed, so the next call fetches a fresh one. */
  invalidate(failed: string): void {
    if (this.current?.value === failed) this.current = undefined;
  }

  private refresh(): Promise<string> {
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    const { baseUrl, clientId, clientSecret, http, limiter, clock } = this.options;
    const prepared = prepareRequest(baseUrl, {
      method: 'GET',
      path: '/identity/oauth/token',
      query: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
    });
    const release = await limiter.acquire({ endpoint: ENDPOINT, kind: 'identity' });
    this.fetches++;
    let raw;
    try {
      raw = await send(http, prepared, {}, ENDPOINT, this.options.timeoutMs);
    } finally {
      release();
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.body);
    } catch {
      body = undefined;
    }
    if (raw.statusCode !== 200) {
      const oauth = oauthErrorSchema.safeParse(body);
      const { code, classification } = classifyHttpStatus(raw.statusCode);
      throw new MarketoApiError({
        code,
        message: oauth.success ? `${oauth.data.error}: ${oauth.data.error_description ?? ''}`.trim() : `HTTP ${raw.statusCode}`,
        endpoint: ENDPOINT,
        source: 'http',
        httpStatus: raw.statusCode,
        classification,
      });
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new MarketoApiError({
        code: 'INVALID_RESPONSE',
        message: `identity response: ${z.prettifyError(parsed.error)}`,
        endpoint: ENDPOINT,
        source: 'response',
        classification: classify('INVALID_RESPONSE'),
      });
    }
    const now = clock.now();
    const lifetimeMs = parsed.data.expires_in * 1000;
    const expiresAt = now + lifetimeMs;
    // Marketo hands back the same token with its remaining lifetime until it expires; when that is inside
    // the renewal margin, use it to the end (a 602 then triggers renewal) instead of asking on every call.
    const renewAt = lifetimeMs > this.options.renewBeforeMs ? expiresAt - this.options.renewBeforeMs : expiresAt;
    this.current = { value: parsed.data.access_token, expiresAt, renewAt };
    return parsed.data.access_token;
  }
}
