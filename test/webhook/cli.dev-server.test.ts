import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { OnDemandSyncSummary } from '../../workflows/on-demand-sync.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmRowsFor, SECRET } from './support.js';

// `marketo-sync webhook serve` as an operator runs it: a spawned process, configured by the
// environment, talking to a real Temporal whose worker (the harness) writes the Postgres CRM.
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');
const run = promisify(execFile);

let env: TestWorkflowEnvironment;
let h: WorkflowHarness;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: 10 } } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: h.taskQueue, ...extra };
}

/** Spawns the receiver and resolves with its URL once it prints that it listens. */
function serve(extra: Record<string, string>): Promise<{ child: ChildProcessWithoutNullStreams; url: string; stderr: () => string; stdout: () => string }> {
  const child = spawn(tsx, ['client/cli.ts', 'webhook', 'serve', '--port', '0'], { cwd: root, env: baseEnv(extra) });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, stderr: () => err, stdout: () => out });
    });
    child.on('exit', (code) => reject(new Error(`receiver exited with ${code} before listening: ${err}`)));
  });
}

function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

function post(url: string, secret: string, body: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body });
}

test('webhook serve by default waits for the sync and answers 200 synced with the CRM id; refuses a wrong secret, logs no secret, stops cleanly', async () => {
  const { child, url, stderr, stdout } = await serve({ WEBHOOK_SECRET: SECRET });
  const exited = exitCode(child);
  try {
    expect(stdout()).toContain('answers wait up to 10000 ms for the sync');
    const leadId = h.emulator.subscription.leads.maxId;

    const refused = await post(url, 'not-the-secret-at-all-000000', `{"leadId": ${leadId}}`);
    expect(refused.status).toBe(401);
    const bad = await post(url, SECRET, '{"leadId": "x"}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^leadId: /);

    const ok = await post(url, SECRET, `{"leadId": ${leadId}, "email": "ignored@example.com"}`);
    expect(ok.status).toBe(200);
    const json = (await ok.json()) as Record<string, unknown>;
    // The answer comes after the write: the row is there, and the answer names it.
    const rows = await crmRowsFor(h, leadId);
    expect(rows).toHaveLength(1);
    expect(json).toMatchObject({ status: 'synced', outcome: 'created', leadId, workflowId: `on-demand-${leadId}`, crmId: rows[0]!.id, crmType: rows[0]!.table === 'leads' ? 'lead' : 'contact' });
    // The value comes from Marketo, not from the webhook body.
    expect(rows[0]!.email).toBe(h.emulator.subscription.leadValue(leadId, 'email'));
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stdout()).toContain('webhook receiver stopped');
  const log = stderr();
  expect(log).toContain('"status":401');
  expect(log).toMatch(/"status":200[^\n]*"outcome":"created"/);
  expect(log).not.toContain(SECRET);
  expect(log).not.toContain('ignored@example.com');
}, 60_000);

test('webhook serve with WEBHOOK_WAIT_MS=0 answers 202 queued at once; the sync still writes the CRM row', async () => {
  const { child, url, stdout } = await serve({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '0' });
  const exited = exitCode(child);
  try {
    expect(stdout()).toContain('answers once queued');
    const leadId = h.emulator.subscription.leads.maxId - 1;
    const res = await post(url, SECRET, `{"leadId": ${leadId}}`);
    expect(res.status).toBe(202);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ status: 'queued', leadId, workflowId: `on-demand-${leadId}` });
    expect(json).not.toHaveProperty('crmId');
    const summary = await env.client.workflow.getHandle<() => Promise<OnDemandSyncSummary>>(`on-demand-${leadId}`, json.runId as string).result();
    expect(summary.outcome).toBe('created');
    expect(await crmRowsFor(h, leadId)).toHaveLength(1);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 60_000);

test('webhook serve without a usable WEBHOOK_SECRET exits 2 (bad configuration) naming it, without printing it', async () => {
  const missing = await run(tsx, ['client/cli.ts', 'webhook', 'serve'], { cwd: root, env: baseEnv({}) }).catch((e: { code: number; stderr: string }) => e);
  expect('code' in missing && missing.code).toBe(2);
  expect((missing as { stderr: string }).stderr).toMatch(/WEBHOOK_SECRET is required/);

  const short = await run(tsx, ['client/cli.ts', 'webhook', 'serve'], { cwd: root, env: baseEnv({ WEBHOOK_SECRET: 'hunter2' }) }).catch(
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  expect('code' in short && short.code).toBe(2);
  const text = `${(short as { stderr: string }).stderr}${(short as { stdout: string }).stdout}`;
  expect(text).toMatch(/WEBHOOK_SECRET must be at least 24 characters/);
  expect(text).not.toContain('hunter2');
}, 60_000);

test('webhook serve logs an answer that could not wait for the sync, with the reason; --wait out of range is a usage error (exit 2)', async () => {
  // A task queue no worker polls: the run cannot finish, so the bound runs out.
  const idle = `idle-${Math.random().toString(36).slice(2)}`;
  const { child, url, stdout, stderr } = await serve({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '300', TEMPORAL_TASK_QUEUE: idle });
  const exited = exitCode(child);
  const leadId = h.emulator.subscription.leads.maxId - 3;
  try {
    expect(stdout()).toContain('answers wait up to 300 ms for the sync');
    const res = await post(url, SECRET, `{"leadId": ${leadId}}`);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'queued', leadId });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  await env.client.workflow.getHandle(`on-demand-${leadId}`).terminate('test: nobody polls this task queue');
  const line = stderr().split('\n').find((l) => l.includes('"status":202'));
  expect(line).toBeDefined();
  expect(JSON.parse(line!)).toMatchObject({ level: 'warn', msg: 'webhook answered queued before the sync finished (bound)', outcome: 'pending', pending: 'bound', leadId });

  const tooLong = await run(tsx, ['client/cli.ts', 'webhook', 'serve', '--wait', '40000'], { cwd: root, env: baseEnv({ WEBHOOK_SECRET: SECRET }) }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect('code' in tooLong && tooLong.code).toBe(2);
  expect((tooLong as { stderr: string }).stderr).toMatch(/--wait/);
}, 60_000);
