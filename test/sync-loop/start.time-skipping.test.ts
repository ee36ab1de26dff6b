import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PENDING_STREAM } from '../../src/sync/pull/index.js';
import { syncLoop, syncStatusQuery } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startSyncHarness, type SyncHarness } from './support.js';

// Where the loop starts: the bootstrap's high watermark, else a configured date, else it refuses.
let env: TestWorkflowEnvironment;
let h: SyncHarness;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startSyncHarness(env.nativeConnection, { seed: { leads: 0 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

test('without a bootstrap watermark or a date the loop refuses to guess (SyncNotBootstrapped) and calls no step', async () => {
  const calls = h.countedCalls();
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'start-nothing', args: [{ maxCycles: 1 }] });
  const failure = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = (failure as WorkflowFailedError).cause?.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type: 'SyncNotBootstrapped' });
  expect((cause as Error).message).toMatch(/--since/);
  expect(h.countedCalls()).toBe(calls);
  expect(await h.store.cycles.recent(5)).toEqual([]);
});

test('the bootstrap\'s high watermark wins over a later --since: a Marketo change between the two is pulled', async () => {
  const nowS = h.emulator.runtime.clock.nowSeconds();
  const bootstrapMark = new Date((nowS - 600) * 1000);
  const since = new Date((nowS - 60) * 1000).toISOString();
  await h.store.watermarks.set('marketo:leads', { watermark: bootstrapMark });
  // What a cycle that met merges leaves behind: the pull's bookkeeping row, which is no watermark.
  await h.store.watermarks.set(PENDING_STREAM, { cursor: JSON.stringify({ v: 1, merges: [], deletes: [] }) });
  // Created in Marketo after the bootstrap's high watermark, before the date given to the loop.
  const lead = h.emulator.subscription.createLead({ email: 'between@start.example', firstName: 'Bea' }, 1, 'Web client', nowS - 300);
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'start-bootstrap', args: [{ since, maxCycles: 1 }] });
  await handle.result();
  const status = await handle.query(syncStatusQuery);
  expect(status.startedFrom).toEqual({ 'marketo:leads': bootstrapMark.toISOString() });
  expect(status.watermarks['marketo:leads']).toBeTruthy();
  expect(Object.keys(status.watermarks)).not.toContain(PENDING_STREAM);
  expect(status.lastCycle!.steps.find((s) => s.step === 'pullLeadsAndCompanies')).toMatchObject({ written: 1 });
  const { rows } = await h.store.pool.query(`SELECT email FROM crm.leads WHERE marketo_lead_id = $1`, [lead]);
  expect(rows).toEqual([{ email: 'between@start.example' }]);
});
