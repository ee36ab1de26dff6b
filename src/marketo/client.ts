import { Readable, finished } from 'node:stream';
import type { Got } from 'got';
import { z } from 'zod';
import { TokenCache } from './auth.js';
import { classify, classifyHttpStatus, type ClassifyContext } from './classification.js';
import { systemClock, type Clock } from './clock.js';
import { envelopeHeadSchema, envelopeSchema, serverTimeOfBody, type Envelope } from './envelope.js';
import { MarketoApiError } from './errors.js';
import {
  DEFAULT_MAX_URL_LENGTH,
  createHttp,
  endpointLabel,
  prepareRequest,
  send,
  sendStream,
  type RawResponse,
  type RequestSpec,
  type StreamResponse,
} from './http.js';
import { InProcessRateLimiter, limitsSchema, type LimiterUsage, type RateLimiter } from './rate-limiter.js';
import type { MarketoTransport } from './transport.js';
import { ActivitiesApi } from './activities.js';
import { DescribeApi } from './describe.js';
import { LeadsApi } from './leads.js';
import { ListsApi } from './lists.js';
import { ObjectApi, customObjectKind, OBJECT_KINDS } from './objects.js';
import { ProgramsApi } from './programs.js';
import { UsageStatsApi } from './usage.js';

/** Minimal logger shape (pino's Logger fits). Lead data never reaches it: only endpoints, codes and ids. */
export interface MarketoLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const isLimiter = (v: unknown): v is RateLimiter =>
  typeof v === 'object' && v !== null && typeof (v as RateLimiter).acquire === 'function' && typeof (v as RateLimiter).usage === 'function';
const isClock = (v: unknown): v is Clock =>
  typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function' && typeof (v as Clock).sleep === 'function';
const isLogger = (v: unknown): v is MarketoLogger =>
  typeof v === 'object' && v !== null && typeof (v as MarketoLogger).debug === 'function' && typeof (v as MarketoLogger).warn === 'function';

export const clientOptionsSchema = z
  .object({
    /** Instance root, e.g. https://123-ABC-456.mktorest.com or http://127.0.0.1:PORT (no path). */
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .refine((u) => new URL(u).pathname.replace(/\/+$/, '') === '', { message: 'baseUrl must be the instance root, without a path' }),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    limits: limitsSchema.default(limitsSchema.parse({})),
    timeouts: z
      .object({
        /** Per call; Marketo's own server timeouts go up to 90 s (sync) and 180 s (merge), which pass their own. */
        requestMs: z.number().int().positive().default(100_000),
        tokenMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .default({ requestMs: 100_000, tokenMs: 30_000 }),
    /** Renew the token this long before it expires. */
    tokenRenewBeforeMs: z.number().int().nonnegative().default(60_000),
    /** GETs with longer URLs are tunnelled as POST `_method=GET`. */
    maxUrlLength: z.number().int().min(256).default(DEFAULT_MAX_URL_LENGTH),
    /** A shared limiter (e.g. Postgres-backed) replacing the in-process one; `limits` then only documents intent. */
    limiter: z.custom<RateLimiter>(isLimiter, { message: 'limiter must implement acquire() and usage()' }).optional(),
    clock: z.custom<Clock>(isClock, { message: 'clock must implement now() and sleep()' }).optional(),
    logger: z.custom<MarketoLogger>(isLogger, { message: 'logger must implement debug() and warn()' }).optional(),
    userAgent: z.string().optional(),
  })
  .strict();

export type MarketoClientOptions = z.input<typeof clientOptionsSchema>;

export interface ClientUsage extends LimiterUsage {
  tokenFetches: number;
}

export class MarketoClient implements MarketoTransport {
  readonly leads: LeadsApi;
  readonly companies: ObjectApi;
  readonly opportunities: ObjectApi;
  readonly opportunityRoles: ObjectApi;
  readonly salesPersons: ObjectApi;
  readonly activities: ActivitiesApi;
  readonly lists: ListsApi;
  readonly programs: ProgramsApi;
  readonly describe: DescribeApi;
  readonly stats: UsageStatsApi;

  private readonly baseUrl: string;
  private readonly http: Got;
  private readonly limiter: RateLimiter;
  private readonly tokens: TokenCache;
  private readonly logger: MarketoLogger | undefined;
  private readonly maxUrlLength: number;
  private readonly requestTimeoutMs: number;
  private readonly clock: Clock;
  private readonly classifyContext: ClassifyContext;

  constructor(options: MarketoClientOptions) {
    const parsed = clientOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`invalid MarketoClient options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data;
    const clock = o.clock ?? systemClock;
    this.clock = clock;
    // A 606 means the instance's window is full: wait one window (20 s on Marketo, less on a scaled emulator).
    this.classifyContext = { rateWindowMs: o.limits.windowMs };
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.http = createHttp({ timeoutMs: o.timeouts.requestMs, ...(o.userAgent ? { userAgent: o.userAgent } : {}) });
    this.limiter = o.limiter ?? new InProcessRateLimiter(o.limits, clock);
    this.logger = o.logger;
    this.maxUrlLength = o.maxUrlLength;
    this.requestTimeoutMs = o.timeouts.requestMs;
    this.tokens = new TokenCache({
      baseUrl: this.baseUrl,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      renewBeforeMs: o.tokenRenewBeforeMs,
      http: this.http,
      limiter: this.limiter,
      clock,
      timeoutMs: o.timeouts.tokenMs,
    });
    this.leads = new LeadsApi(this);
    this.companies = new ObjectApi(this, OBJECT_KINDS.company);
    this.opportunities = new ObjectApi(this, OBJECT_KINDS.opportunity);
    this.opportunityRoles = new ObjectApi(this, OBJECT_KINDS.opportunityRole);
    this.salesPersons = new ObjectApi(this, OBJECT_KINDS.salesPerson);
    this.activities = new ActivitiesApi(this);
    this.lists = new ListsApi(this);
    this.programs = new ProgramsApi(this);
    this.describe = new DescribeApi(this);
    this.stats = new UsageStatsApi(this);
  }

  /** Generic object API for a custom object type by its API name (e.g. `car_c`). */
  customObject(apiName: string): ObjectApi {
    return new ObjectApi(this, customObjectKind(apiName));
  }

  /** Calls spent and in flight, as counted locally by the limiter. */
  usage(): ClientUsage {
    return { ...this.limiter.usage(), tokenFetches: this.tokens.fetchCount };
  }

  async request<S extends z.ZodType>(spec: RequestSpec, itemSchema: S): Promise<Envelope<z.output<S>>> {
    const endpoint = endpointLabel(spec);
    const prepared = prepareRequest(this.baseUrl, spec, this.maxUrlLength);
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.token();
      const release = await this.limiter.acquire({ endpoint });
      let raw: RawResponse;
      const started = Date.now();
      try {
        raw = await send(this.http, prepared, { ...spec.headers, authorization: `Bearer ${token}` }, endpoint, spec.timeoutMs ?? this.requestTimeoutMs);
      } catch (err) {
        release();
        throw err;
      }
      release({ serverTime: serverTimeOfBody(raw.body) });
      this.logger?.debug({ endpoint, status: raw.statusCode, ms: Date.now() - started, tunnelled: prepared.tunnelled, attempt }, 'marketo call');
      if (raw.statusCode !== 200) throw httpFailure(raw, endpoint, this.classifyContext);
      const json = parseJson(raw.body, endpoint);
      const failure = envelopeFailure(json, endpoint, this.classifyContext);
      if (failure) {
        if (this.renewForReplay(failure, attempt, token, endpoint)) continue;
        throw failure;
      }
      const parsed = envelopeSchema(itemSchema).safeParse(json);
      if (!parsed.success) throw invalidResponse(endpoint, z.prettifyError(parsed.error), (json as { requestId?: string }).requestId);
      return parsed.data as Envelope<z.output<S>>;
    }
  }

  /** 601/602 on the first attempt: drop the token so the replay fetches a fresh one. */
  private renewForReplay(failure: MarketoApiError, attempt: number, token: string, endpoint: string): boolean {
    if (failure.classification.action !== 'reauth' || attempt !== 0) return false;
    this.logger?.warn({ endpoint, code: failure.code, requestId: failure.requestId }, 'marketo token rejected; renewing and replaying once');
    this.tokens.invalidate(token);
    return true;
  }

  async requestStream(spec: RequestSpec): Promise<StreamResponse> {
    const endpoint = endpointLabel(spec);
    const prepared = prepareRequest(this.baseUrl, spec, this.maxUrlLength);
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.token();
      const release = await this.limiter.acquire({ endpoint });
      let response: StreamResponse;
      try {
        response = await sendStream(this.http, prepared, { ...spec.headers, authorization: `Bearer ${token}` }, endpoint, spec.timeoutMs ?? this.requestTimeoutMs);
      } catch (err) {
        release();
        throw err;
      }
      // The download keeps its connection slot until the body is read, but leaves the rate window by
      // the time the headers came back.
      const respondedAt = this.clock.now();
      finished(response.body, () => release({ respondedAt }));
      const { statusCode, headers } = response;
      const isJson = String(headers['content-type'] ?? '').includes('application/json');
      if (statusCode >= 500 || [401, 413, 414, 429].includes(statusCode)) {
        throw httpFailure({ statusCode, headers, body: await readAll(response.body) }, endpoint, this.classifyContext);
      }
      if (!isJson) return response;
      // Bulk files are CSV/TSV/SSV, so JSON here is Marketo's envelope: check it for failures.
      const text = await readAll(response.body);
      const json = parseJson(text, endpoint);
      const failure = envelopeFailure(json, endpoint, this.classifyContext);
      if (failure) {
        if (this.renewForReplay(failure, attempt, token, endpoint)) continue;
        throw failure;
      }
      return { statusCode, headers, body: Readable.from([Buffer.from(text)]) };
    }
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(body: string, endpoint: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw invalidResponse(endpoint, `body is not JSON: ${body.slice(0, 200)}`);
  }
}

function envelopeFailure(json: unknown, endpoint: string, context: ClassifyContext): MarketoApiError | undefined {
  const head = envelopeHeadSchema.safeParse(json);
  if (!head.success) throw invalidResponse(endpoint, z.prettifyError(head.error));
  if (head.data.success) return undefined;
  const first = head.data.errors?.[0];
  if (!first) throw invalidResponse(endpoint, 'success:false without errors', head.data.requestId);
  return new MarketoApiError({
    code: first.code,
    message: first.message,
    endpoint,
    source: 'envelope',
    ...(head.data.requestId ? { requestId: head.data.requestId } : {}),
    classification: classify(first.code, first.message, new Date(), context),
  });
}

function httpFailure(raw: RawResponse, endpoint: string, context: ClassifyContext): MarketoApiError {
  const { code, classification } = classifyHttpStatus(raw.statusCode, new Date(), context);
  return new MarketoApiError({
    code,
    message: `HTTP ${raw.statusCode}: ${raw.body.slice(0, 200)}`,
    endpoint,
    source: 'http',
    httpStatus: raw.statusCode,
    classification,
  });
}

function invalidResponse(endpoint: string, detail: string, requestId?: string): MarketoApiError {
  return new MarketoApiError({
    code: 'INVALID_RESPONSE',
    message: detail,
    endpoint,
    source: 'response',
    ...(requestId ? { requestId } : {}),
    classification: classify('INVALID_RESPONSE'),
  });
}
