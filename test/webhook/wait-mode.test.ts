import http from 'node:http';
import { createWebhookServer, listen, WEBHOOK_PATH, type SyncAwaiter, type WebhookRequestLog } from '../../client/webhook/server.js';

// Wait mode over real HTTP, with a controllable awaiter in Temporal's place: the answer carries the
// sync's outcome when it comes within the bound, else 202 with the workflow id, and a wait that
// ends (bound, hang-up) always releases the awaiter.
const SECRET = 'a-test-secret-of-sufficient-length';
const WAIT_MS = 300;
let server: http.Server;
let url: string;
let awaiter: SyncAwaiter;
let logs: WebhookRequestLog[];
const signals: AbortSignal[] = [];

beforeAll(async () => {
  server = createWebhookServer({
    secret: SECRET,
    maxBodyBytes: 512,
    start: async (leadId) => ({ workflowId: `on-demand-${leadId}`, runId: `run-${leadId}` }),
    wait: {
      ms: WAIT_MS,
      result: (started, signal) => {
        signals.push(signal);
        return awaiter(started, signal);
      },
    },
    onRequest: (e) => logs.push(e),
  });
  url = `${(await listen(server, 0, '127.0.0.1')).url}${WEBHOOK_PATH}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  logs = [];
  signals.length = 0;
});

/** Never settles on its own: only the abort ends it, as a long poll does. */
const untilAborted: SyncAwaiter = (_started, signal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

async function post(leadId: number) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET }, body: `{"leadId": ${leadId}}` });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a sync that finishes within the bound answers 200 with its outcome and CRM id, in keys a response mapping can use', async () => {
  awaiter = async (started) => ({ outcome: 'created', crmType: 'lead', crmId: `L-${started.workflowId}` });
  const { status, json } = await post(42);
  expect(status).toBe(200);
  expect(json).toEqual({
    status: 'synced',
    outcome: 'created',
    leadId: 42,
    workflowId: 'on-demand-42',
    runId: 'run-42',
    crmType: 'lead',
    crmId: 'L-on-demand-42',
    requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  for (const key of Object.keys(json)) expect(key).toMatch(/^[A-Za-z0-9_: -]+$/);
  expect(logs).toEqual([expect.objectContaining({ status: 200, leadId: 42, outcome: 'created' })]);
});

test('not-found and failed outcomes are answered as such (200: the request was handled), with the failure code', async () => {
  awaiter = async () => ({ outcome: 'failed', crmType: 'lead', code: 'MAPPING' });
  expect((await post(7)).json).toMatchObject({ status: 'failed', outcome: 'failed', code: 'MAPPING' });
  awaiter = async () => ({ outcome: 'not-found' });
  const notFound = await post(8);
  expect(notFound.status).toBe(200);
  expect(notFound.json).toMatchObject({ status: 'not-found', outcome: 'not-found' });
  expect(notFound.json).not.toHaveProperty('crmId');
});

test('a sync slower than the bound answers 202 queued with the workflow id, and the wait is released', async () => {
  awaiter = untilAborted;
  const { status, json } = await post(43);
  expect(status).toBe(202);
  expect(json).toMatchObject({ status: 'queued', leadId: 43, workflowId: 'on-demand-43', runId: 'run-43' });
  expect(signals).toHaveLength(1);
  expect(signals[0]!.aborted).toBe(true);
  // The fallback is logged with its reason, and with ids only.
  expect(logs).toEqual([expect.objectContaining({ status: 202, outcome: 'pending', pending: 'bound', leadId: 43, workflowId: 'on-demand-43' })]);
  expect(logs[0]).not.toHaveProperty('error');
});

test('a failure while waiting is not a failed sync: the request is durably accepted, so 202', async () => {
  awaiter = async () => {
    throw new Error('Temporal connection reset');
  };
  const { status, json } = await post(44);
  expect(status).toBe(202);
  expect(json).toMatchObject({ status: 'queued', workflowId: 'on-demand-44' });
  expect(json).not.toHaveProperty('error');
  // The reason is for the operator's log, not for Marketo's response mappings.
  expect(logs).toEqual([expect.objectContaining({ status: 202, outcome: 'pending', pending: 'wait-failed', error: 'Error: Temporal connection reset' })]);
});

test('a caller that hangs up releases the wait long before the bound, and the fallback is logged as such', async () => {
  // A bound far beyond the test's timeout: only the hang-up can end this wait in time.
  const held: AbortSignal[] = [];
  let logged: (entry: WebhookRequestLog) => void = () => undefined;
  const entry = new Promise<WebhookRequestLog>((resolve) => (logged = resolve));
  const patient = createWebhookServer({
    secret: SECRET,
    maxBodyBytes: 512,
    start: async (leadId) => ({ workflowId: `on-demand-${leadId}`, runId: 'run' }),
    wait: {
      ms: 60_000,
      result: (started, signal) => {
        held.push(signal);
        return untilAborted(started, signal);
      },
    },
    onRequest: (e) => logged(e),
  });
  const target = new URL(`${(await listen(patient, 0, '127.0.0.1')).url}${WEBHOOK_PATH}`);
  try {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'x-webhook-secret': SECRET, 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end('{"leadId": 45}');
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (held.length === 0) return;
        clearInterval(poll);
        req.destroy();
        if (held[0]!.aborted) resolve();
        else held[0]!.addEventListener('abort', () => resolve(), { once: true });
      }, 5);
    });
    expect(held[0]!.aborted).toBe(true);
    expect(await entry).toMatchObject({ status: 202, outcome: 'pending', pending: 'hung-up', leadId: 45 });
  } finally {
    patient.closeAllConnections();
    await new Promise((r) => patient.close(r));
  }
});
