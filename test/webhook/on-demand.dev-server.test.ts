import { jest } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { OnDemandSyncSummary } from '../../workflows/on-demand-sync.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmRowsFor, fireWebhook, startReceiver, type Receiver } from './support.js';

// Webhook → receiver → Temporal dev server → worker → emulator over HTTP → Postgres CRM.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
let receiver: Receiver;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: 40 } } });
  // Queued mode (WEBHOOK_WAIT_MS=0): answers at once, so each test awaits the run's result itself.
  receiver = await startReceiver(env.client, h.taskQueue, { waitMs: 0 });
});

afterAll(async () => {
  await receiver?.close();
  await h?.close();
  await env?.teardown();
});

/** The outcome of the latest run under the lead's workflow id. */
function result(leadId: number): Promise<OnDemandSyncSummary> {
  return env.client.workflow.getHandle<() => Promise<OnDemandSyncSummary>>(`on-demand-${leadId}`).result();
}

function marketoValue(leadId: number, field: string): unknown {
  return h.emulator.subscription.leadValue(leadId, field);
}

test('a webhook writes the lead read from Marketo to the CRM; lead values stay out of the history', async () => {
  const leadId = h.emulator.subscription.leads.maxId;
  const { status, json } = await fireWebhook(receiver.url, leadId);
  expect(status).toBe(202);
  expect(json).toMatchObject({ status: 'queued', leadId, workflowId: `on-demand-${leadId}` });

  const summary = await result(leadId);
  expect(summary).toMatchObject({ leadId, outcome: 'created', passes: 1, requests: 1, writes: 1 });
  const rows = await crmRowsFor(h, leadId);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.email).toBe(marketoValue(leadId, 'email'));
  expect(rows[0]!.id).toBe(summary.crmId);
  expect((await h.store.idMap.byMarketoIds('lead', [String(leadId)])).get(String(leadId))?.crmId).toBe(summary.crmId);

  const history = JSON.stringify((await env.client.workflow.getHandle(`on-demand-${leadId}`).fetchHistory()).events);
  for (const field of ['email', 'firstName', 'lastName']) {
    const value = marketoValue(leadId, field);
    expect(typeof value).toBe('string');
    expect(history).not.toContain(String(value));
  }
});

test('duplicates while the run is reading are absorbed into the same run, and the CRM is written once', async () => {
  const leadId = h.emulator.subscription.leads.maxId - 1;
  const upserts = jest.spyOn(h.crm, 'upsert');
  // The first read of this lead is slow, so the duplicates land while it is in flight.
  h.emulator.runtime.faults.add({ path: '/rest/v1/leads.json', method: 'GET', latencyMs: 2_000, count: 1 });
  expect((await fireWebhook(receiver.url, leadId)).status).toBe(202);
  const dupes = await Promise.all(Array.from({ length: 5 }, () => fireWebhook(receiver.url, leadId)));
  expect(dupes.map((d) => d.status)).toEqual([202, 202, 202, 202, 202]);
  // All six webhooks addressed the same run.
  expect(new Set(dupes.map((d) => d.json.workflowId))).toEqual(new Set([`on-demand-${leadId}`]));

  const summary = await result(leadId);
  expect(summary).toMatchObject({ leadId, requests: 6 });
  expect(summary.passes).toBeLessThanOrEqual(2);
  expect(await crmRowsFor(h, leadId)).toHaveLength(1);
  const written = upserts.mock.calls.flatMap(([, records]) => records).filter((r) => Number(r.marketo_lead_id) === leadId);
  expect(written).toHaveLength(1);
  upserts.mockRestore();
});

test('a webhook after the run closed syncs again: unchanged leads are not rewritten, changed ones are', async () => {
  const leadId = h.emulator.subscription.leads.maxId - 2;
  await fireWebhook(receiver.url, leadId);
  expect((await result(leadId)).outcome).toBe('created');
  const [before] = await crmRowsFor(h, leadId);

  await fireWebhook(receiver.url, leadId);
  expect(await result(leadId)).toMatchObject({ outcome: 'unchanged', writes: 0 });
  const [same] = await crmRowsFor(h, leadId);
  expect(same!.updated_at).toEqual(before!.updated_at);

  h.emulator.subscription.updateLead(leadId, { firstName: 'Renamed' });
  await fireWebhook(receiver.url, leadId);
  expect(await result(leadId)).toMatchObject({ outcome: 'updated', writes: 1 });
  const rows = await crmRowsFor(h, leadId);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.first_name).toBe('Renamed');
});

test('a lead Marketo does not have ends as not-found, writing nothing', async () => {
  const leadId = h.emulator.subscription.leads.maxId + 1000;
  expect((await fireWebhook(receiver.url, leadId)).status).toBe(202);
  expect(await result(leadId)).toMatchObject({ outcome: 'not-found', writes: 0 });
  expect(await crmRowsFor(h, leadId)).toHaveLength(0);
});

test('a lead the CRM refuses goes to the error ledger without its values, and is resolved once fixed', async () => {
  const leadId = h.emulator.subscription.leads.maxId - 3;
  h.emulator.subscription.updateLead(leadId, { email: 'no-at-sign.example.com' });
  await fireWebhook(receiver.url, leadId);
  const failed = await result(leadId);
  expect(failed.outcome).toBe('failed');
  expect(failed.code).toBeDefined();
  const open = (await h.store.errors.list({ status: 'open' })).filter((e) => e.recordKey === String(leadId));
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ operation: 'on-demand' });
  expect(JSON.stringify(open[0])).not.toContain('no-at-sign');

  h.emulator.subscription.updateLead(leadId, { email: 'fixed@example.com' });
  await fireWebhook(receiver.url, leadId);
  expect((await result(leadId)).outcome).toBe('created');
  expect((await h.store.errors.list({ status: 'resolved' })).filter((e) => e.recordKey === String(leadId))).toHaveLength(1);
});

test('a burst of distinct leads costs a handful of Marketo reads, not one per lead', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  // Hold the two reads that can run at once, so the rest of the burst is known to be waiting
  // when they return, however slowly this machine delivers it: the count does not hang on timing.
  h.emulator.runtime.faults.add({ path: '/rest/v1/leads.json', method: 'GET', latencyMs: 5_000, count: 2 });
  const readsBefore = leadReads();
  const answers = await Promise.all(ids.map((id) => fireWebhook(receiver.url, id)));
  expect(answers.every((a) => a.status === 202)).toBe(true);
  const summaries = await Promise.all(ids.map(result));
  expect(summaries.every((s) => s.outcome === 'created')).toBe(true);
  for (const id of ids) expect(await crmRowsFor(h, id)).toHaveLength(1);
  const reads = leadReads() - readsBefore;
  expect(reads).toBeGreaterThan(0);
  expect(reads).toBeLessThan(ids.length / 2);
});

function leadReads(): number {
  const endpoints = h.emulator.runtime.stats.snapshot().endpoints;
  return Object.entries(endpoints)
    .filter(([name]) => name.includes('/rest/v1/leads.json') && name.startsWith('GET'))
    .reduce((n, [, e]) => n + e.calls, 0);
}
