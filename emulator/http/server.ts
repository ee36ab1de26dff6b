import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { TokenIssuer } from '../auth.js';
import type { Clock } from '../clock.js';
import type { FaultInjector } from '../faults.js';
import { UNCOUNTED_CODES, type Limiter } from '../limits.js';
import type { ResolvedEmulatorOptions } from '../options.js';
import type { CallStats } from '../stats.js';
import type { Subscription } from '../subscription.js';
import { assetFailure, ERROR_MESSAGES, failure, MarketoError, newRequestId } from './envelope.js';
import { Params } from './params.js';
import { compileRoute, matchRoute, type CompiledRoute, type HttpMethod, type Reply, type RequestContext, type Route } from './route.js';

/** Everything one running emulator holds; the dispatcher and admin routes share it. */
export interface Runtime {
  options: ResolvedEmulatorOptions;
  clock: Clock;
  subscription: Subscription;
  tokens: TokenIssuer;
  limiter: Limiter;
  faults: FaultInjector;
  stats: CallStats;
  /** Parameter names each route read, keyed `METHOD path-pattern` (spec-conformance test). */
  paramReads: Map<string, Set<string>>;
  /** With a state file: resolves once every change so far is on disk (answers wait for it). */
  persistence?: { commit(): Promise<void> };
}

export type AdminHandler = (rt: Runtime, body: unknown, query: URLSearchParams) => unknown;
export interface AdminRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  handler: AdminHandler;
}

export type IdentityHandler = (rt: Runtime, params: Params) => { status: number; body: Record<string, unknown> };

const JSON_TYPE = 'application/json;charset=UTF-8';

function htmlError(status: number, text: string): string {
  return `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

const REASONS: Record<number, string> = { 413: 'Request Entity Too Large', 414: 'Request-URI Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };

class BodyTooLarge extends Error {}

/** Collapses `//` and resolves dot-segments (`/rest/../bulk/v1/x.json` → `/bulk/v1/x.json`). */
export function normalizePath(rawUrl: string): { path: string; search: URLSearchParams } {
  const q = rawUrl.indexOf('?');
  const rawPath = (q >= 0 ? rawUrl.slice(0, q) : rawUrl).replace(/\/{2,}/g, '/');
  const url = new URL(rawPath + (q >= 0 ? rawUrl.slice(q) : ''), 'http://emulator.invalid');
  return { path: url.pathname, search: url.searchParams };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function startHttpServer(rt: Runtime, routes: Route[], adminRoutes: AdminRoute[], identity: IdentityHandler): Server {
  const compiled = routes.map(compileRoute);
  const compiledAdmin = adminRoutes.map((r) => ({ ...r, ...compileRoute({ method: r.method, path: r.path, handler: () => ({ json: {} }) }) , admin: r.handler }));

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('emulator: unhandled error', err);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/html' });
        res.end(htmlError(500, 'Internal Server Error'));
      } else res.destroy();
    });
  });

  function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}, allowGzip = true): void {
    let payload: Buffer = Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string | number> = { 'Content-Type': JSON_TYPE, Server: 'nginx', ...extraHeaders };
    if (allowGzip && payload.length >= 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      payload = gzipSync(payload);
      headers['Content-Encoding'] = 'gzip';
      headers.Vary = 'Accept-Encoding';
    }
    headers['Content-Length'] = payload.length;
    res.writeHead(status, headers);
    res.end(payload);
  }

  function sendHtml(res: ServerResponse, status: number): void {
    const body = htmlError(status, REASONS[status] ?? 'Error');
    res.writeHead(status, { 'Content-Type': 'text/html', Server: 'nginx', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (Buffer.byteLength(rawUrl) > rt.options.limits.maxUriBytes) {
      req.resume();
      return sendHtml(res, 414);
    }
    const { path, search } = normalizePath(rawUrl);
    const method = (req.method ?? 'GET').toUpperCase();

    if (path.startsWith('/_emulator/')) return handleAdmin(req, res, path, search, method);

    // Body size limit: the largest any route on this path declares (bulk import: 10 MB).
    const candidates = compiled.filter((r) => r.regex.test(path));
    const limit = Math.max(rt.options.limits.maxBodyBytes, ...candidates.map((r) => r.maxBodyBytes ?? 0));
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        sendHtml(res, 413);
        req.socket.destroySoon?.();
        return;
      }
      throw err;
    }

    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const params = new Params();
    params.addAll(search);
    const isForm = contentType.startsWith('application/x-www-form-urlencoded');
    const isJson = contentType.startsWith('application/json');
    if (isForm && rawBody.length) params.addAll(new URLSearchParams(rawBody.toString('utf8')));

    if (path === '/identity/oauth/token') {
      const out = identity(rt, params);
      rt.stats.record(`${method} /identity/oauth/token`, out.status === 200 ? undefined : String(out.status), false, rt.options.apiUserEmail, rt.clock.now());
      return sendJson(req, res, out.status, out.body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, false);
    }

    const now = rt.clock.now();
    const requestId = newRequestId(now);
    const isAsset = path.startsWith('/rest/asset/');
    const fail = (code: string, message = ERROR_MESSAGES[code] ?? 'Error'): Record<string, unknown> =>
      isAsset ? assetFailure(requestId, code, message) : failure(requestId, code, message);
    const finish = (endpoint: string, status: number, body: Record<string, unknown>, counted: boolean): void => {
      const code = body.success === false ? String((body.errors as { code: string }[] | undefined)?.[0]?.code ?? '') : undefined;
      rt.stats.record(endpoint, code, counted, rt.options.apiUserEmail, rt.clock.now());
      if (rt.options.logRequests) console.error(`${method} ${path} -> ${code ?? 'ok'}`);
      sendJson(req, res, status, body, {}, !path.startsWith('/bulk/'));
    };

    if (!/^\/(rest\/v1|rest\/asset\/v1|bulk\/v1)\//.test(path)) return finish(`${method} (unknown)`, 200, fail('610'), false);

    // `_method` tunnelling: from the query string or the form body; only a POST can carry it.
    const tunnelled = params.peek('_method')?.toUpperCase();
    let effective = method as HttpMethod;
    if (tunnelled && ['GET', 'POST', 'DELETE'].includes(tunnelled) && (method === 'POST' || tunnelled === method)) effective = tunnelled as HttpMethod;

    // Authentication (not counted against limits).
    const auth = String(req.headers.authorization ?? '');
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    const queryToken = rt.options.allowQueryToken ? params.peek('access_token') : undefined;
    const check = rt.tokens.check(bearer ?? queryToken);
    if (!check.ok) return finish(`${effective} (auth)`, 200, fail(check.code), false);

    // Route resolution.
    let route: CompiledRoute | undefined;
    let pathParams: Record<string, string> = {};
    for (const r of candidates) {
      if (r.method !== effective) continue;
      const m = matchRoute(r, path);
      if (m) {
        route = r;
        pathParams = m;
        break;
      }
    }
    if (!route) {
      if (candidates.length) return finish(`${effective} (method)`, 200, fail('605', `Request method '${effective}' not supported`), false);
      // An unknown resource is a counted call: it goes through the limiter like any other.
      const admitted = rt.limiter.admit();
      if (!admitted.ok) return finish(`${effective} (unknown)`, 200, fail(admitted.code, admitted.message), false);
      rt.limiter.release(admitted.ticket, true);
      return finish(`${effective} (unknown)`, 200, fail('610'), true);
    }
    const endpoint = `${route.method} ${route.path}`;

    // Injected faults.
    const fault = rt.faults.decide(effective, path);
    if (fault && fault.latencyMs) await sleep(fault.latencyMs);
    if (fault?.kind === 'reset') {
      rt.stats.record(endpoint, 'reset', false, rt.options.apiUserEmail, rt.clock.now());
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'http') {
      rt.stats.record(endpoint, String(fault.status), false, rt.options.apiUserEmail, rt.clock.now());
      return sendHtml(res, fault.status);
    }
    if (fault?.kind === 'code') {
      const message = fault.code === '606'
        ? `Max rate limit '${rt.limiter.config.rateLimitCalls}' exceeded with in '${rt.limiter.config.rateWindowMs / 1000}' secs`
        : fault.code === '615' ? `Concurrent access limit '${rt.limiter.config.maxConcurrent}' reached` : undefined;
      return finish(endpoint, 200, fail(fault.code, message), false);
    }

    // Limits.
    const admission = rt.limiter.admit();
    if (!admission.ok) return finish(endpoint, 200, fail(admission.code, admission.message), false);
    let counted = true;
    try {
      if (rt.options.latencyMs) await sleep(rt.options.latencyMs);

      const kind = route.body ?? (route.method === 'GET' ? 'none' : 'json');
      if (kind === 'json' && rawBody.length && !isJson) {
        counted = true;
        return finish(endpoint, 200, fail('612'), true);
      }
      if (kind === 'multipart' && !contentType.startsWith('multipart/form-data')) return finish(endpoint, 200, fail('612'), true);
      let body: unknown;
      if (isJson && rawBody.length) {
        try {
          body = JSON.parse(rawBody.toString('utf8'));
        } catch {
          return finish(endpoint, 200, fail('609'), true);
        }
      }

      const ctx: RequestContext = {
        method: effective, path, pathParams, params, body, rawBody, headers: req.headers, requestId, now,
        subscription: rt.subscription, apiUser: rt.options.apiUserEmail, limits: rt.options.limits, stats: rt.stats,
      };
      let reply: Reply;
      try {
        reply = await route.handler(ctx);
      } catch (err) {
        if (err instanceof MarketoError) reply = { json: fail(err.code, err.message) };
        else {
          console.error(`emulator: ${endpoint} failed`, err);
          reply = { json: fail('611') };
        }
      } finally {
        let reads = rt.paramReads.get(endpoint);
        if (!reads) rt.paramReads.set(endpoint, (reads = new Set()));
        for (const n of params.reads) reads.add(n);
      }
      // A change is acknowledged only once it is durable (free when the call changed nothing).
      await rt.persistence?.commit();
      if (reply.raw) {
        rt.stats.record(endpoint, reply.status >= 400 ? String(reply.status) : undefined, true, rt.options.apiUserEmail, rt.clock.now());
        res.writeHead(reply.status, { Server: 'nginx', ...(reply.headers ?? {}) });
        if (reply.body instanceof Readable) reply.body.pipe(res);
        else res.end(reply.body);
        return;
      }
      const code = reply.json.success === false ? String((reply.json.errors as { code: string }[] | undefined)?.[0]?.code ?? '') : undefined;
      counted = !(code && UNCOUNTED_CODES.has(code));
      return finish(endpoint, reply.status ?? 200, reply.json, counted);
    } finally {
      rt.limiter.release(admission.ticket, counted);
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams, method: string): Promise<void> {
    const raw = await readBody(req, 64 * 1024 * 1024);
    let body: unknown = {};
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(req, res, 400, { error: 'body is not valid JSON' });
      }
    }
    const route = compiledAdmin.find((r) => r.method === method && r.regex.test(path));
    if (!route) return sendJson(req, res, 404, { error: `no admin endpoint ${method} ${path}` });
    const pathParams = matchRoute(route, path) ?? {};
    for (const [k, v] of Object.entries(pathParams)) search.set(`:${k}`, v);
    try {
      const out = await route.admin(rt, body, search);
      await rt.persistence?.commit();
      sendJson(req, res, 200, out ?? { ok: true }, {}, false);
    } catch (err) {
      const issues = (err as { issues?: unknown }).issues;
      sendJson(req, res, 400, { error: (err as Error).message, ...(issues ? { issues } : {}) }, {}, false);
    }
  }

  return server;
}
