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

test('webhook serve takes a Marketo webhook to a CRM row, refuses a wrong secret, logs no secret, stops cleanly', async () => {
  const { child, url, stderr, stdout } = await serve({ WEBHOOK_SECRET: SECRET });
  const exited = exitCode(child);
  try {
    const leadId = h.emulator.subscription.leads.maxId;
    const post = (secret: string, body: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body });

    const refused = await post('not-the-secret-at-all-000000', `{"leadId": ${leadId}}`);
    expect(refused.status).toBe(401);
    const bad = await post(SECRET, '{"leadId": "x"}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^leadId: /);

    const ok = await post(SECRET, `{"leadId": ${leadId}, "email": "ignored@example.com"}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'queued', leadId, workflowId: `on-demand-${leadId}` });
    const summary = await env.client.workflow.getHandle<() => Promise<OnDemandSyncSummary>>(`on-demand-${leadId}`).result();
    expect(summary.outcome).toBe('created');
    const rows = await crmRowsFor(h, leadId);
    expect(rows).toHaveLength(1);
    // The value comes from Marketo, not from the webhook body.
    expect(rows[0]!.email).toBe(h.emulator.subscription.leadValue(leadId, 'email'));
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stdout()).toContain('webhook receiver stopped');
  const log = stderr();
  expect(log).toContain('"status":401');
  expect(log).toContain('"status":200');
  expect(log).not.toContain(SECRET);
  expect(log).not.toContain('ignored@example.com');
}, 60_000);

test('webhook serve without a usable WEBHOOK_SECRET exits 1 naming it, without printing it', async () => {
  const missing = await run(tsx, ['client/cli.ts', 'webhook', 'serve'], { cwd: root, env: baseEnv({}) }).catch((e: { code: number; stderr: string }) => e);
  expect('code' in missing && missing.code).toBe(1);
  expect((missing as { stderr: string }).stderr).toMatch(/WEBHOOK_SECRET is required/);

  const short = await run(tsx, ['client/cli.ts', 'webhook', 'serve'], { cwd: root, env: baseEnv({ WEBHOOK_SECRET: 'hunter2' }) }).catch(
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  expect('code' in short && short.code).toBe(1);
  const text = `${(short as { stderr: string }).stderr}${(short as { stdout: string }).stdout}`;
  expect(text).toMatch(/WEBHOOK_SECRET must be at least 24 characters/);
  expect(text).not.toContain('hunter2');
}, 60_000);

test('webhook serve in wait mode (WEBHOOK_WAIT_MS) answers with the CRM id of the row it wrote; --wait out of range is a usage error (exit 2)', async () => {
  const { child, url, stdout } = await serve({ WEBHOOK_SECRET: SECRET, WEBHOOK_WAIT_MS: '15000' });
  const exited = exitCode(child);
  try {
    expect(stdout()).toContain('answers wait up to 15000 ms for the sync');
    const leadId = h.emulator.subscription.leads.maxId - 2;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET }, body: `{"leadId": ${leadId}}` });
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, unknown>;
    const rows = await crmRowsFor(h, leadId);
    expect(rows).toHaveLength(1);
    expect(json).toMatchObject({ status: 'synced', outcome: 'created', leadId, crmId: rows[0]!.id });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);

  const tooLong = await run(tsx, ['client/cli.ts', 'webhook', 'serve', '--wait', '40000'], { cwd: root, env: baseEnv({ WEBHOOK_SECRET: SECRET }) }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect('code' in tooLong && tooLong.code).toBe(2);
  expect((tooLong as { stderr: string }).stderr).toMatch(/--wait/);
}, 60_000);
