import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../emulator/index.js';

export const CLIENT_ID = 'test-client';
export const CLIENT_SECRET = 'test-secret';

export function start(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });
}

export async function token(em: RunningEmulator): Promise<string> {
  const res = await fetch(`${em.url}/identity/oauth/token?grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}`);
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

export interface CallOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  token?: string | null;
}

export interface ResultItem {
  [k: string]: unknown;
  reasons?: { code: string; message: string }[];
}

export interface Envelope {
  requestId: string;
  success: boolean;
  result?: ResultItem[];
  errors?: { code: string; message: string }[];
  warnings?: unknown[];
  nextPageToken?: string;
  moreResult?: boolean;
  [k: string]: unknown;
}

/** One API call with a Bearer token; returns status, headers and the parsed body. */
export async function call(em: RunningEmulator, path: string, opts: CallOptions = {}): Promise<{ status: number; headers: Headers; body: Envelope }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? (await token(em))}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] ??= 'application/json';
  } else if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  }
  const res = await fetch(`${em.url}${path}`, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let parsed: Envelope;
  try {
    parsed = JSON.parse(text) as Envelope;
  } catch {
    parsed = { requestId: '', success: false, raw: text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export function errorCode(body: Envelope): string | undefined {
  return body.errors?.[0]?.code;
}
