import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createCycleActivities } from '../../activities/cycle.js';
import { createActivities } from '../../workers/activities.js';
import { workflowCode } from '../../workers/worker.js';
import { quotaResetAt } from '../../src/marketo/index.js';
import { syncLoop, syncNowSignal, syncStatusQuery } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { historyOf, startSyncHarness, statusWhen, type SyncHarness } from './support.js';

// What a cycle does with Marketo's limits and failures, and that it moves CRM edits, on the
// time-skipping server (quota resets and stretched intervals are hours of durable timers).
let env: TestWorkflowEnvironment;
let h: SyncHarness;
// A minute ago: within Marketo's activity retention, so the pull reads the activity log.
const SINCE = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startSyncHarness(env.nativeConnection, { seed: { leads: 5 }, limits: { dailyQuota: 1_000 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

test('CRM edits reach Marketo in the next cycle; syncNow carries an edit at once; the history counts them', async () => {
  const [contact] = await h.user.insert('contact', [{ email: 'ada@loop.example', first_name: 'Ada', last_name: 'Lovelace' }]);
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'cycle-push', args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 3_600 }] });
  const first = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  const pushLeads = first.lastCycle!.steps.find((s) => s.step === 'pushLeads')!;
  expect(pushLeads).toMatchObject({ seed: 3, written: 1, skipped: 0, mode: 'rest' });
  const byCrmId = async () => (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact!], fields: ['id', 'firstName'] })).items;
  expect(await byCrmId()).toEqual([expect.objectContaining({ firstName: 'Ada' })]);
  expect(first.watermarks['crm:push:contact']).toBeTruthy();

  await h.user.update('contact', [{ id: contact!, first_name: 'Augusta' }]);
  await handle.signal(syncNowSignal);
  const result = await handle.result();
  expect(result.cycles).toBe(2);
  expect(result.lastCycle!.steps.find((s) => s.step === 'pushLeads')).toMatchObject({ written: 1 });
  expect(await byCrmId()).toEqual([expect.objectContaining({ firstName: 'Augusta' })]);

  const rows = (await h.store.cycles.recent(2)).reverse();
  for (const row of rows) expect(row.records).toEqual(expect.arrayContaining([expect.objectContaining({ entity: 'lead', direction: 'toMarketo', updated: 1, failed: 0 })]));
  // The second cycle's push calls: the one lead write (the pull's idle reads come on top).
  const pushCalls = result.lastCycle!.steps.filter((st) => st.step.startsWith('push') || (st.step.startsWith('delete') && st.seed > 7)).reduce((n, st) => n + st.calls, 0);
  expect(pushCalls).toBe(1);
  expect(rows[1]!.apiCalls).toBe(result.lastCycle!.apiCalls);
});

test('a field changed on both sides is settled in the cycle and recorded in its history under the cycle id', async () => {
  const [contact] = await h.user.insert('contact', [{ email: 'both@loop.example', first_name: 'Grace', title: 'Original' }]);
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'cycle-conflict', args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 3_600 }] });
  const first = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  expect(first.lastCycle!.conflicts).toBeUndefined();
  const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);

  // Between the cycles a Marketo user and a CRM user change the same field.
  h.emulator.subscription.editLeadAsUser(marketoId, { title: 'Marketo title' });
  await h.user.update('contact', [{ id: contact!, title: 'CRM title' }]);
  await handle.signal(syncNowSignal);
  const result = await handle.result();
  const cycle = result.lastCycle!;
  expect(cycle.conflicts).toBe(1);
  expect(cycle.steps.find((s) => s.step === 'pullLeadsAndCompanies')).toMatchObject({ conflicts: 1 });
  expect(await h.store.cycles.conflicts(cycle.historyId)).toEqual([
    { cycleId: cycle.historyId, entity: 'lead', recordKey: String(marketoId), field: 'title', rule: 'crm', winner: 'crm', at: expect.any(Date) },
  ]);
  expect(await h.store.cycles.conflicts(first.lastCycle!.historyId)).toEqual([]);
  expect((await h.store.cycles.recent(1))[0]).toMatchObject({ id: cycle.historyId, conflicts: 1 });
  expect(h.emulator.subscription.getLead(marketoId)?.values.title).toBe('CRM title');
});

test('a step failing for good fails the cycle, which is recorded; the next cycle runs and succeeds', async () => {
  // Describe Lead answers 611 (System error) to every attempt of the first cycle's schema refresh.
  h.emulator.runtime.faults.add({ path: '/rest/v1/leads/describe2.json', code: '611', count: 10 });
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'cycle-failure', args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 60 }] });
  const result = await handle.result();
  expect(result.cycles).toBe(2);
  const status = await handle.query(syncStatusQuery);
  expect(status.lastCycle).toMatchObject({ number: 2, outcome: 'succeeded', schemaRefreshed: true });
  expect(status.lastFailure).toMatchObject({ number: 1 });
  expect(status.lastFailure!.error).toMatch(/611|System error/);
  const [second, first] = await h.store.cycles.recent(2);
  expect(first).toMatchObject({ status: 'failed' });
  expect(first!.error).toMatch(/611|System error/);
  expect(second).toMatchObject({ status: 'succeeded', error: null });
});

/**
 * A second worker on its own task queue whose bookkeeping activities read the present from `now`:
 * the budget's projection counts from it to Marketo's reset, so a test can hold it at any hour.
 */
async function startWorkerWithClock(now: () => Date): Promise<{ taskQueue: string; stop(): Promise<void> }> {
  const deps = { marketo: h.marketo, store: h.store, crm: h.crm };
  const base = createActivities(deps);
  const taskQueue = `${h.taskQueue}-clock`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...workflowCode(),
    activities: { ...base, ...createCycleActivities({ ...deps, registeredActivities: () => Object.keys(base), now }) },
  });
  const running = worker.run();
  return {
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

test('a daily budget stretches the wait so the projected calls fit, and waits for the reset once spent (at any hour)', async () => {
  // The worker's clock stands 12 hours before Marketo's reset, whatever the hour is in Chicago now.
  const HOURS_LEFT = 12;
  const clocked = await startWorkerWithClock(() => new Date(quotaResetAt(new Date()).getTime() - HOURS_LEFT * 3_600_000));
  try {
    // Room for a handful of cycles today: far fewer than the 144 five-minute cycles 12 hours hold.
    const budget = h.marketo.usage().dailyCalls + 100;
    const handle = await env.client.workflow.start(syncLoop, {
      taskQueue: clocked.taskQueue,
      workflowId: 'cycle-budget',
      args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 300, dailyCallBudget: budget }],
    });
    const after = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
    const q = after.quota!;
    const perCycle = after.lastCycle!.apiCalls;
    expect(perCycle).toBeGreaterThanOrEqual(6);
    expect(q.msToReset).toBe(HOURS_LEFT * 3_600_000);
    expect(budget - q.callsToday).toBeGreaterThanOrEqual(perCycle);
    // today's calls + (cycles until the reset) × calls a cycle ≤ budget
    const expected = Math.ceil(q.msToReset / ((budget - q.callsToday) / perCycle));
    expect(expected).toBeGreaterThan(300_000);
    expect(after.intervalReason).toMatch(new RegExp(`^stretched .* daily budget of ${budget}$`));
    expect(after.effectiveIntervalSeconds).toBe(Math.round(expected / 1000));
    expect(Date.parse(after.nextRunAt!) - Date.parse(after.lastCycle!.finishedAt)).toBe(expected);
    await handle.result();
    const timers = (await historyOf(handle)).filter((e) => e.kind === 'timer');
    expect(timers).toHaveLength(1);
    expect(timers[0]!.ms).toBe(expected);

    // A budget already spent today: the next cycle waits for Marketo's day to turn (and a minute).
    const spent = await env.client.workflow.start(syncLoop, { taskQueue: clocked.taskQueue, workflowId: 'cycle-budget-spent', args: [{ since: SINCE, maxCycles: 2, dailyCallBudget: 5 }] });
    const waiting = await statusWhen(spent, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
    expect(waiting.intervalReason).toMatch(/spent/);
    expect(Date.parse(waiting.nextRunAt!) - Date.parse(waiting.lastCycle!.finishedAt)).toBe(HOURS_LEFT * 3_600_000 + 60_000);
    await spent.terminate('test done');
  } finally {
    await clocked.stop();
  }
});

test('a spent daily quota (607) pauses the loop until the Chicago reset, visible in status, then the cycle completes', async () => {
  // Another integration spent today's calls but 3: the schema refresh (6 calls) runs out.
  const limiter = h.emulator.runtime.limiter;
  (limiter.config as { dailyQuota: number }).dailyQuota = limiter.snapshot().quotaUsed + 3;
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'cycle-quota', args: [{ since: SINCE, maxCycles: 1 }] });
  const paused = await statusWhen(handle, (s) => s.state === 'quota-paused', 'quota-paused');
  expect(paused.step).toMatchObject({ activity: 'refreshMarketoSchema' });
  expect(paused.quotaPause!.resetAt).toBe(quotaResetAt(new Date()).toISOString());
  expect(paused.quotaPause!.reason).toMatch(/quota/i);

  // Marketo's day turns over: the paused step runs again and the cycle ends.
  h.emulator.runtime.clock.advance(Date.parse(paused.quotaPause!.resetAt) - Date.now() + 5 * 60_000);
  const result = await handle.result();
  expect(result.lastCycle).toMatchObject({ outcome: 'succeeded', schemaRefreshed: true });
  const status = await handle.query(syncStatusQuery);
  expect(status.quotaPause).toBeUndefined();
});
