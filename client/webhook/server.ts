import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { credentialKind, verifySecretHeader, verifySignature } from './auth.js';
import { START_TIMEOUT_MS, WEBHOOK_PATH } from './limits.js';
import { PayloadError, parseWebhookBody } from './payload.js';

export { WEBHOOK_PATH } from './limits.js';

/** Starts (or joins) the lead's on-demand sync; resolves once Temporal has durably accepted it. */
export type SyncStarter = (leadId: number, requestId: string) => Promise<{ workflowId: string; runId: string }>;

/** What a finished sync reports to the webhook's answer: keys and codes, as in the workflow result. */
export interface SyncOutcome {
  outcome: 'created' | 'updated' | 'unchanged' | 'not-found' | 'failed';
  crmType?: string;
  crmId?: string;
  code?: string;
}

/** Waits for the run the request started or joined; rejects when `signal` aborts. */
export type SyncAwaiter = (started: { workflowId: string; runId: string }, signal: AbortSignal) => Promise<SyncOutcome>;

/** Why a wait-mode answer fell back to 202 `queued` although the request was accepted. */
export type PendingReason = 'bound' | 'hung-up' | 'wait-failed';

/** One line per request: ids, status and timing only, never the body, headers or the secret. */
export interface WebhookRequestLog {
  requestId: string;
  status: number;
  ms: number;
  leadId?: number;
  workflowId?: string;
  /** In wait mode: the sync's outcome, or `pending` when the answer could not wait for it. */
  outcome?: string;
  /** With `pending`: the bound ran out, the caller hung up, or waiting failed (`error` says how). */
  pending?: PendingReason;
  error?: string;
}

export interface WebhookServerOptions {
  secret: string;
  maxBodyBytes: number;
  start: SyncStarter;
  /** Marketo waits 30 s; answer well before that even if Temporal is slow (default 10 s). */
  startTimeoutMs?: number;
  /**
   * Wait mode: answer with the sync's outcome (CRM id included, for a response mapping) when the
   * run finishes within `ms` of being accepted, else 202 with the workflow id. Unset: answer as
   * soon as Temporal accepted the request. Marketo's flow step waits for the answer, so its 20
   * connections then move at the CRM's pace.
   */
  wait?: { ms: number; result: SyncAwaiter };
  onRequest?: (entry: WebhookRequestLog) => void;
}

class TooLarge extends Error {}

/** Reads the body up to `limit` bytes; past it, stops keeping bytes and rejects. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Temporal did not accept the workflow within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `synced` when the CRM holds the lead; `not-found` and `failed` (error ledger) as they are. */
function outcomeStatus(outcome: SyncOutcome['outcome']): string {
  return outcome === 'created' || outcome === 'updated' || outcome === 'unchanged' ? 'synced' : outcome;
}

function pick(o: SyncOutcome): Record<string, string> {
  const out: Record<string, string> = {};
  if (o.crmType !== undefined) out.crmType = o.crmType;
  if (o.crmId !== undefined) out.crmId = o.crmId;
  if (o.code !== undefined) out.code = o.code;
  return out;
}

type Waited = { outcome: SyncOutcome } | { pending: PendingReason; error?: string };

/** An error's kind and message for the log; Temporal's messages carry ids and codes, not lead fields. */
function describeError(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  return `${e.name}: ${e.message}`.slice(0, 300);
}

/**
 * The run's outcome, or why the answer cannot wait for it: the bound ran out, the caller hung up
 * (the long poll is released either way), or waiting failed. The request is durably accepted in
 * every case, so the answer falls back to "queued".
 */
async function waitForOutcome(wait: NonNullable<WebhookServerOptions['wait']>, started: { workflowId: string; runId: string }, res: http.ServerResponse): Promise<Waited> {
  const abort = new AbortController();
  let reason: PendingReason | undefined;
  const stop = (why: PendingReason) => {
    reason ??= why;
    abort.abort();
  };
  const timer = setTimeout(() => stop('bound'), wait.ms);
  const hungUp = () => stop('hung-up');
  res.once('close', hungUp);
  try {
    return { outcome: await wait.result(started, abort.signal) };
  } catch (err) {
    return reason ? { pending: reason } : { pending: 'wait-failed', error: describeError(err) };
  } finally {
    clearTimeout(timer);
    res.off('close', hungUp);
  }
}

/**
 * The HTTP endpoint Marketo's "Call Webhook" flow step posts to. Order of checks: route, declared
 * size, secret header (before reading anything), body size, signature, body. Only a request that
 * passes all of them reaches Temporal. Answers are JSON with plain keys, so Marketo response
 * mappings can copy `status`, `workflowId` or `requestId` into lead fields.
 */
export function createWebhookServer(opts: WebhookServerOptions): http.Server {
  const startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  return http.createServer((req, res) => {
    const began = process.hrtime.bigint();
    const requestId = crypto.randomUUID();
    const entry: WebhookRequestLog = { requestId, status: 0, ms: 0 };
    const reply = (status: number, body: Record<string, unknown>, extraHeaders: Record<string, string> = {}) => {
      entry.status = status;
      entry.ms = Number(process.hrtime.bigint() - began) / 1e6;
      const text = JSON.stringify({ ...body, requestId });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
      res.end(text);
      opts.onRequest?.(entry);
    };
    const reject = (status: number, error: string, extraHeaders?: Record<string, string>) => {
      entry.error = error;
      reply(status, { status: 'rejected', error }, extraHeaders);
    };

    const url = new URL(req.url ?? '/', 'http://receiver');
    if (url.pathname === '/healthz' && req.method === 'GET') return reply(200, { status: 'ok' });
    if (url.pathname !== WEBHOOK_PATH) return reject(404, `no route ${url.pathname}; Marketo webhooks go to POST ${WEBHOOK_PATH}`);
    if (req.method !== 'POST') return reject(405, `method ${req.method ?? ''} not allowed; use POST`, { allow: 'POST' });

    // Refused before reading: the connection is closed so the rest of an oversized body is not awaited.
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
      req.resume();
      return reject(413, `body: larger than ${opts.maxBodyBytes} bytes`, { connection: 'close' });
    }
    const kind = credentialKind(req.headers);
    if (kind === 'none' || (kind === 'secret' && !verifySecretHeader(opts.secret, req.headers))) {
      req.resume();
      return reject(401, 'missing or wrong webhook secret');
    }

    void (async () => {
      let raw: Buffer;
      try {
        raw = await readBody(req, opts.maxBodyBytes);
      } catch (err) {
        if (err instanceof TooLarge) return reject(413, `body: larger than ${opts.maxBodyBytes} bytes`, { connection: 'close' });
        return reject(400, 'body: could not be read');
      }
      if (kind === 'signature' && !verifySignature(opts.secret, req.headers, raw)) return reject(401, 'missing or wrong webhook signature');
      let leadId: number;
      try {
        leadId = parseWebhookBody(raw, req.headers['content-type']).leadId;
      } catch (err) {
        if (err instanceof PayloadError) return reject(400, err.message);
        throw err;
      }
      entry.leadId = leadId;
      let started: { workflowId: string; runId: string };
      try {
        started = await withTimeout(opts.start(leadId, requestId), startTimeoutMs);
      } catch (err) {
        // Marketo shows the reason phrase and the body in "Webhook is Called"; keep internals out.
        return reject(503, `sync could not be started: ${(err as Error).name}`);
      }
      entry.workflowId = started.workflowId;
      // 202 whenever the sync may still be running; 200 only with its outcome (wait mode).
      if (!opts.wait) return reply(202, { status: 'queued', leadId, workflowId: started.workflowId, runId: started.runId });
      const waited = await waitForOutcome(opts.wait, started, res);
      if ('pending' in waited) {
        entry.outcome = 'pending';
        entry.pending = waited.pending;
        if (waited.error !== undefined) entry.error = waited.error;
        // Durably accepted: the sync goes on and lands in the CRM; only the answer could not wait.
        return reply(202, { status: 'queued', leadId, workflowId: started.workflowId, runId: started.runId });
      }
      const { outcome } = waited;
      entry.outcome = outcome.outcome;
      reply(200, { status: outcomeStatus(outcome.outcome), outcome: outcome.outcome, leadId, workflowId: started.workflowId, runId: started.runId, ...pick(outcome) });
    })().catch((err: unknown) => {
      if (!res.headersSent) reject(500, `internal error: ${(err as Error).name}`);
    });
  });
}

/** Listens and resolves with the bound address (port 0 picks a free one). */
export async function listen(server: http.Server, port: number, host: string): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { url: `http://${shownHost}:${addr.port}`, port: addr.port };
}
