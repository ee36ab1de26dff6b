import { jest } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmRowsFor, fireWebhook, startReceiver, type Receiver } from './support.js';

// Wait mode end to end: webhook → receiver → Temporal dev server → worker → emulator → Postgres
// CRM, and the answer carries what the run wrote.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
let receiver: Receiver;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: 10 } } });
  receiver = await startReceiver(env.client, h.taskQueue, { waitMs: 15_000 });
});

afterAll(async () => {
  await receiver?.close();
  await h?.close();
  await env?.teardown();
});

test('the answer carries the outcome and the id of the CRM row the run wrote', async () => {
  const leadId = h.emulator.subscription.leads.maxId;
  const { status, json } = await fireWebhook(receiver.url, leadId);
  expect(status).toBe(200);
  expect(json).toMatchObject({ status: 'synced', outcome: 'created', leadId, workflowId: `on-demand-${leadId}` });
  const rows = await crmRowsFor(h, leadId);
  expect(rows).toHaveLength(1);
  expect(json.crmId).toBe(rows[0]!.id);
  expect(json.crmType).toBe(rows[0]!.table === 'leads' ? 'lead' : 'contact');

  // Again once the run closed: a new run finds the CRM up to date and says so, with the same row.
  const again = await fireWebhook(receiver.url, leadId);
  expect(again.json).toMatchObject({ status: 'synced', outcome: 'unchanged', crmId: rows[0]!.id });
  expect(again.json.runId).not.toBe(json.runId);
});

test('duplicates that join an open run each get its outcome; the CRM is written once', async () => {
  const leadId = h.emulator.subscription.leads.maxId - 1;
  const upserts = jest.spyOn(h.crm, 'upsert');
  // A slow first read keeps the run open while the duplicates arrive.
  h.emulator.runtime.faults.add({ path: '/rest/v1/leads.json', method: 'GET', latencyMs: 1_500, count: 1 });
  const first = fireWebhook(receiver.url, leadId);
  await new Promise((r) => setTimeout(r, 200));
  const answers = await Promise.all([first, ...Array.from({ length: 4 }, () => fireWebhook(receiver.url, leadId))]);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  expect(new Set(answers.map((a) => a.json.status))).toEqual(new Set(['synced']));
  const rows = await crmRowsFor(h, leadId);
  expect(rows).toHaveLength(1);
  expect(new Set(answers.map((a) => a.json.crmId))).toEqual(new Set([rows[0]!.id]));
  const written = upserts.mock.calls.flatMap(([, records]) => records).filter((r) => Number(r.marketo_lead_id) === leadId);
  expect(written).toHaveLength(1);
  upserts.mockRestore();
});

test('a lead Marketo does not have is answered not-found', async () => {
  const { status, json } = await fireWebhook(receiver.url, 999_999);
  expect(status).toBe(200);
  expect(json).toMatchObject({ status: 'not-found', outcome: 'not-found', leadId: 999_999 });
});

test('with no worker to run it, the answer is 202 queued after the bound and the run stays queued', async () => {
  const idle = `idle-${Math.random().toString(36).slice(2)}`;
  const impatient = await startReceiver(env.client, idle, { waitMs: 500 });
  try {
    const { status, json } = await fireWebhook(impatient.url, 3);
    expect(status).toBe(202);
    expect(json).toMatchObject({ status: 'queued', leadId: 3, workflowId: 'on-demand-3' });
    const handle = env.client.workflow.getHandle('on-demand-3', json.runId as string);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test: nobody polls this task queue');
  } finally {
    await impatient.close();
  }
});
