import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Params } from './params.js';
import type { Subscription } from '../subscription.js';
import type { LimitsOptions } from '../options.js';
import type { CallStats } from '../stats.js';

/** What a handler sees: one request, already authenticated, limited and parsed. */
export interface RequestContext {
  /** Effective method after `_method` tunnelling. */
  method: HttpMethod;
  /** Normalised path (dot-segments resolved, `//` collapsed). */
  path: string;
  /** Named segments of the route pattern, e.g. `{ id: '12' }` for `/rest/v1/lead/:id.json`. */
  pathParams: Record<string, string>;
  /** Query string plus form-body parameters. */
  params: Params;
  /** Parsed JSON body, when the request carried one. */
  body: unknown;
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  requestId: string;
  /** Emulator clock, epoch ms. */
  now: number;
  subscription: Subscription;
  /** Email of the API user owning the token (bulk jobs are visible to their owner only). */
  apiUser: string;
  /** The running emulator's limits (batch sizes, body limits, bulk queues may add theirs). */
  limits: LimitsOptions;
  /** Call accounting (usage stats endpoints). */
  stats: CallStats;
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** A response written as-is (bulk files, 404 plain text, Range replies). */
export interface RawReply {
  raw: true;
  status: number;
  headers?: Record<string, string | number>;
  body: string | Buffer | Readable;
}

/** JSON replies are envelopes built with ./envelope.js; HTTP status 200 unless given. */
export interface JsonReply {
  raw?: false;
  status?: number;
  json: Record<string, unknown>;
}

export type Reply = RawReply | JsonReply;

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** How the body is expected to arrive; JSON routes answer 612 for another Content-Type. */
export type BodyKind = 'json' | 'form' | 'multipart' | 'none';

export interface Route {
  method: HttpMethod;
  /** Path pattern; `:name` matches one segment, e.g. `/rest/v1/lead/:id.json`. */
  path: string;
  handler: Handler;
  /** Expected body; defaults to 'none' for GET, 'json' for POST/DELETE. */
  body?: BodyKind;
  /** Body size limit in bytes (HTTP 413 above); defaults to the emulator's `maxBodyBytes`. */
  maxBodyBytes?: number;
  /** Asset API routes use the asset envelope for errors. */
  asset?: boolean;
}

export function json(body: Record<string, unknown>, status?: number): JsonReply {
  return status === undefined ? { json: body } : { json: body, status };
}

export interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

/** Turns `/rest/v1/lead/:id.json` into an anchored regex with named segments. */
export function compileRoute(route: Route): CompiledRoute {
  const keys: string[] = [];
  const pattern = route.path
    .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => {
      if (part.startsWith(':')) {
        keys.push(part.slice(1));
        return '([^/]+?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { ...route, regex: new RegExp(`^${pattern}$`), keys };
}

export function matchRoute(route: CompiledRoute, path: string): Record<string, string> | undefined {
  const m = route.regex.exec(path);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  route.keys.forEach((k, i) => {
    const raw = m[i + 1] ?? '';
    try {
      out[k] = decodeURIComponent(raw);
    } catch {
      out[k] = raw; // malformed %-escape: the handler sees it verbatim and rejects the value
    }
  });
  return out;
}
