import got, { RequestError, TimeoutError, type Got, type Headers, type Method } from 'got';
import type { Readable } from 'node:stream';
import { classify } from './classification.js';
import { MarketoApiError } from './errors.js';

export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;
export type QueryParams = Record<string, QueryValue>;

export type RequestBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; value: Record<string, string> }
  | { kind: 'multipart'; value: FormData };

export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path under the instance root, e.g. `/rest/v1/leads.json`. */
  path: string;
  query?: QueryParams;
  body?: RequestBody;
  headers?: Record<string, string>;
  /** Label for per-endpoint counts and errors; defaults to the method and the path with ids replaced. */
  endpoint?: string;
  timeoutMs?: number;
}

export interface RawResponse {
  statusCode: number;
  headers: Headers;
  body: string;
}

export interface StreamResponse {
  statusCode: number;
  headers: Headers;
  body: Readable;
}

/** Marketo rejects URIs over 8 KB (414); stay clear of it so headers and proxies have room. */
export const DEFAULT_MAX_URL_LENGTH = 7_000;

/** A bulk job's id (exports are UUIDs): like numeric ids, not part of the endpoint a call counts for. */
const JOB_UUID = /\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=[/.?]|$)/gi;

/** A path or endpoint label with bulk job ids folded into `{exportId}`. */
export function foldJobIds(pathOrLabel: string): string {
  return pathOrLabel.replace(JOB_UUID, '/{exportId}');
}

/**
 * The stable label a call is counted and limited under: ids folded (`{id}`, `{exportId}`), so the
 * limiter's per-endpoint day counts (and the metrics drawn from them) hold one row per endpoint,
 * not one per record or bulk job.
 */
export function endpointLabel(spec: Pick<RequestSpec, 'method' | 'path' | 'endpoint'>): string {
  return spec.endpoint ?? `${spec.method} ${foldJobIds(spec.path).replace(/\/\d+(?=[/.])/g, '/{id}')}`;
}

/** Arrays go comma-separated: every Marketo array parameter accepts that form (marketo-api.md §1.4). */
export function encodeQuery(query: QueryParams | undefined): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  return params;
}

export interface PreparedRequest {
  method: Method;
  url: string;
  body?: RequestBody;
  /** True when a long GET was turned into `POST ?_method=GET` with the query in a form body. */
  tunnelled: boolean;
}

/**
 * Builds the URL; a GET whose URL would pass `maxUrlLength` is tunnelled as `POST ?_method=GET` with the
 * parameters in an `application/x-www-form-urlencoded` body — Marketo's documented answer to 414.
 */
export function prepareRequest(baseUrl: string, spec: RequestSpec, maxUrlLength = DEFAULT_MAX_URL_LENGTH): PreparedRequest {
  const root = baseUrl.replace(/\/+$/, '');
  const params = encodeQuery(spec.query);
  const qs = params.toString();
  const url = `${root}${spec.path}${qs ? `?${qs}` : ''}`;
  if (spec.method === 'GET' && url.length > maxUrlLength) {
    if (spec.body) throw new Error(`GET ${spec.path} with a body cannot be tunnelled`);
    const form: Record<string, string> = {};
    for (const [k, v] of params) form[k] = v;
    return { method: 'POST', url: `${root}${spec.path}?_method=GET`, body: { kind: 'form', value: form }, tunnelled: true };
  }
  return spec.body ? { method: spec.method, url, body: spec.body, tunnelled: false } : { method: spec.method, url, tunnelled: false };
}

export interface HttpOptions {
  timeoutMs: number;
  userAgent?: string;
}

/** A got instance with retries off (the caller decides about retries) and HTTP errors returned, not thrown. */
export function createHttp(options: HttpOptions): Got {
  return got.extend({
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: true,
    timeout: { request: options.timeoutMs },
    headers: { 'user-agent': options.userAgent ?? 'marketo-crm-sync', accept: 'application/json' },
  });
}

function bodyOptions(body: RequestBody | undefined): { json?: unknown; form?: Record<string, string>; body?: FormData } {
  if (!body) return {};
  switch (body.kind) {
    case 'json':
      return { json: body.value };
    case 'form':
      return { form: body.value };
    case 'multipart':
      return { body: body.value };
  }
}

/**
 * A read (a GET, or a GET tunnelled as POST) whose connection is reset before any answer is sent
 * once more at once: a kept-alive socket the server closed as the request went out is the common
 * cause (seen against the emulator's 5 s keep-alive at load), and a read repeats safely. Writes
 * are never repeated here: their caller's classification decides.
 */
function resetRetry(prepared: PreparedRequest): { retry?: { limit: number; methods: Method[]; statusCodes: number[]; errorCodes: string[]; calculateDelay: (r: { computedValue: number }) => number } } {
  if (prepared.method !== 'GET' && !prepared.tunnelled) return {};
  return { retry: { limit: 1, methods: [prepared.method], statusCodes: [], errorCodes: ['ECONNRESET', 'EPIPE'], calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : 1) } };
}

export async function send(
  http: Got,
  prepared: PreparedRequest,
  headers: Record<string, string>,
  endpoint: string,
  timeoutMs?: number,
): Promise<RawResponse> {
  try {
    const response = await http(prepared.url, {
      method: prepared.method,
      headers,
      responseType: 'text',
      ...resetRetry(prepared),
      ...(timeoutMs ? { timeout: { request: timeoutMs } } : {}),
      ...bodyOptions(prepared.body),
    });
    return { statusCode: response.statusCode, headers: response.headers, body: response.body };
  } catch (err) {
    throw err instanceof RequestError ? transportError(err, endpoint) : err;
  }
}

export async function sendStream(
  http: Got,
  prepared: PreparedRequest,
  headers: Record<string, string>,
  endpoint: string,
  timeoutMs?: number,
): Promise<StreamResponse> {
  const stream = http.stream(prepared.url, {
    method: prepared.method,
    headers,
    ...(timeoutMs ? { timeout: { request: timeoutMs } } : {}),
    ...bodyOptions(prepared.body),
  });
  return new Promise<StreamResponse>((resolve, reject) => {
    const onError = (err: unknown) => reject(err instanceof RequestError ? transportError(err, endpoint) : err);
    stream.once('error', onError);
    stream.once('response', (response: { statusCode: number; headers: Headers }) => {
      stream.off('error', onError);
      resolve({ statusCode: response.statusCode, headers: response.headers, body: stream });
    });
  });
}

export function transportError(err: RequestError, endpoint: string): MarketoApiError {
  const code = err instanceof TimeoutError ? 'TIMEOUT' : 'NETWORK';
  const detail = `${err.code}: ${err.message}`;
  return new MarketoApiError({ code, message: detail, endpoint, source: 'network', classification: classify(code), cause: err });
}
