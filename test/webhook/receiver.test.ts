import http from 'node:http';
import { loadWebhookConfig } from '../../client/webhook/config.js';
import { signBody } from '../../client/webhook/auth.js';
import { createWebhookServer, listen, WEBHOOK_PATH, type SyncStarter, type WebhookRequestLog } from '../../client/webhook/server.js';

// The receiver over real HTTP with a recording starter in Temporal's place: every rejection must
// leave the recorder empty ("nothing reaches Temporal"), every acceptance must call it once.
const SECRET = 'a-test-secret-of-sufficient-length';
const MAX = 512;
let server: http.Server;
let base: string;
let started: { leadId: number; requestId: string }[];
let logs: WebhookRequestLog[];
let starter: SyncStarter;

beforeAll(async () => {
  server = createWebhookServer({
    secret: SECRET,
    maxBodyBytes: MAX,
    start: (leadId, requestId) => starter(leadId, requestId),
    onRequest: (e) => logs.push(e),
  });
  base = (await listen(server, 0, '127.0.0.1')).url;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  started = [];
  logs = [];
  starter = async (leadId, requestId) => {
    started.push({ leadId, requestId });
    return { workflowId: `on-demand-${leadId}`, runId: 'run' };
  };
});

async function post(body: string, headers: Record<string, string> = { 'x-webhook-secret': SECRET }, path = WEBHOOK_PATH) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A request whose body arrives in chunks without a Content-Length, so only the streaming limit can catch it. */
function postChunked(chunks: string[]): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${base}${WEBHOOK_PATH}`);
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-webhook-secret': SECRET, 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('authentication', () => {
  test('the shared secret header is accepted and the lead queued with a response Marketo can map', async () => {
    const { status, json } = await post('{"leadId": 1234}');
    expect(status).toBe(202);
    expect(json).toEqual({ status: 'queued', leadId: 1234, workflowId: 'on-demand-1234', runId: 'run', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(started).toEqual([{ leadId: 1234, requestId: json.requestId }]);
    // Response mapping keys may hold only alphanumerics, '-', '_', ':' and space.
    for (const key of Object.keys(json)) expect(key).toMatch(/^[A-Za-z0-9_: -]+$/);
  });

  test.each([
    ['a wrong secret', { 'x-webhook-secret': `${SECRET}x` }],
    ['a secret differing in one character', { 'x-webhook-secret': `b${SECRET.slice(1)}` }],
    ['an empty secret', { 'x-webhook-secret': '' }],
    ['no credentials', {}],
    ['a wrong signature', { 'x-webhook-signature': signBody('another-secret-of-sufficient-length', '{"leadId": 1}') }],
    ['a signature of another body', { 'x-webhook-signature': signBody(SECRET, '{"leadId": 2}') }],
  ])('%s → 401 and nothing started', async (_name, headers) => {
    const { status, json } = await post('{"leadId": 1}', headers);
    expect(status).toBe(401);
    expect(json.status).toBe('rejected');
    expect(started).toEqual([]);
  });

  test('an HMAC-SHA256 signature of the exact body is accepted (any letter case)', async () => {
    const body = '{"leadId": 77, "email": "x@example.com"}';
    expect((await post(body, { 'x-webhook-signature': signBody(SECRET, body) })).status).toBe(202);
    expect((await post(body, { 'x-webhook-signature': signBody(SECRET, body).toUpperCase().replace('SHA256', 'sha256') })).status).toBe(202);
    expect(started.map((s) => s.leadId)).toEqual([77, 77]);
  });

  test('the secret never appears in a response or a log entry', async () => {
    await post('{"leadId": 5}', { 'x-webhook-secret': 'wrong-secret-of-sufficient-length' });
    await post('{"leadId": 5}');
    const seen = JSON.stringify(logs);
    expect(seen).not.toContain(SECRET);
    expect(seen).not.toContain('wrong-secret');
  });
});

describe('validation', () => {
  test.each([
    ['no leadId', '{"email": "a@b.c"}', /^leadId: /],
    ['a non-numeric leadId', '{"leadId": "abc"}', /^leadId: must be the numeric Marketo lead id/],
    ['an empty token', '{"leadId": ""}', /^leadId: /],
    ['a fractional leadId', '{"leadId": 1.5}', /^leadId: must be a whole number/],
    ['a negative leadId', '{"leadId": -3}', /^leadId: must be positive/],
    ['a leadId past Marketo ids', '{"leadId": 99999999999}', /^leadId: is out of range/],
    ['broken JSON (a quoted token left unquoted by the template)', '{"leadId": 12, "email": jane@example.com}', /^body: not valid JSON/],
    ['an array', '[1, 2]', /^body: must be a JSON object/],
    ['an empty body', '', /^body: not valid JSON/],
  ])('%s → 400 naming the field, nothing started', async (_name, body, message) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json.error).toMatch(message);
    expect(started).toEqual([]);
  });

  test('a field value is never echoed in a 400', async () => {
    const { json } = await post('{"leadId": "jane@example.com"}');
    expect(JSON.stringify(json)).not.toContain('jane@example.com');
  });

  test('Marketo JSON token encoding (numbers unquoted, other tokens ignored) and form encoding are accepted', async () => {
    expect((await post('{"leadId": 1001, "first_name": "Jane", "campaign": "Sync to CRM"}')).status).toBe(202);
    expect((await post('{"leadId": "1002"}')).status).toBe(202);
    expect((await post('leadId=1003&company=Acme%20%26%20Co', { 'x-webhook-secret': SECRET, 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(202);
    expect(started.map((s) => s.leadId)).toEqual([1001, 1002, 1003]);
  });
});

describe('limits and routes', () => {
  test('a declared body over the limit → 413 before it is read, nothing started', async () => {
    const { status, json } = await post(JSON.stringify({ leadId: 1, pad: 'x'.repeat(MAX) }));
    expect(status).toBe(413);
    expect(json.error).toBe(`body: larger than ${MAX} bytes`);
    expect(started).toEqual([]);
  });

  test('a chunked body that grows past the limit → 413, nothing started', async () => {
    const { status } = await postChunked(['{"leadId": 1, "pad": "', 'x'.repeat(300), 'x'.repeat(300), '"}']);
    expect(status).toBe(413);
    expect(started).toEqual([]);
    // Under the limit the same way of sending is fine.
    expect((await postChunked(['{"leadId":', ' 9}'])).status).toBe(202);
    expect(started.map((s) => s.leadId)).toEqual([9]);
  });

  test('other paths and methods are refused; /healthz answers', async () => {
    expect((await post('{"leadId": 1}', { 'x-webhook-secret': SECRET }, '/other')).status).toBe(404);
    const get = await fetch(`${base}${WEBHOOK_PATH}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(started).toEqual([]);
  });

  test('when Temporal refuses or is slow, Marketo gets a 503 well before its 30 s', async () => {
    starter = async () => {
      throw new Error('connection refused to 10.0.0.1');
    };
    const { status, json } = await post('{"leadId": 4}');
    expect(status).toBe(503);
    expect(String(json.error)).not.toContain('10.0.0.1');
  });
});

describe('configuration', () => {
  test('WEBHOOK_SECRET is required, long enough, and never printed', () => {
    expect(() => loadWebhookConfig({})).toThrow(/WEBHOOK_SECRET is required/);
    const short = 'tooshort';
    let message = '';
    try {
      loadWebhookConfig({ WEBHOOK_SECRET: short });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/WEBHOOK_SECRET must be at least 24 characters/);
    expect(message).not.toContain(short);
    expect(() => loadWebhookConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_PORT: 'http' })).toThrow(/WEBHOOK_PORT/);
    expect(loadWebhookConfig({ WEBHOOK_SECRET: SECRET })).toEqual({ secret: SECRET, host: '127.0.0.1', port: 8787, maxBodyBytes: 16_384, waitMs: 10_000 });
  });

  test('wait mode is the default (10 s); WEBHOOK_WAIT_MS=0 answers once queued; past 15 s is refused (Marketo waits 30 s)', () => {
    expect(loadWebhookConfig({ WEBHOOK_SECRET: SECRET }).waitMs).toBe(10_000);
    expect(loadWebhookConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '0' }).waitMs).toBe(0);
    expect(loadWebhookConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '15000' }).waitMs).toBe(15_000);
    expect(() => loadWebhookConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '15001' })).toThrow(/WEBHOOK_WAIT_MS/);
    expect(() => loadWebhookConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: 'soon' })).toThrow(/WEBHOOK_WAIT_MS/);
  });
});
