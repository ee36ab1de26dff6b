import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { CYCLE_STEPS } from '../../workflows/sync-types.js';
import { syncLoop, syncNowSignal, syncPauseSignal, syncResumeSignal, syncSetIntervalUpdate, syncStatusQuery } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { historyOf, startSyncHarness, statusWhen, type SyncHarness } from './support.js';

// The time-skipping server: the loop's production-length waits (5 minutes, an hour) are real
// durable timers that pass in milliseconds while the test awaits a result.
let env: TestWorkflowEnvironment;
let h: SyncHarness;
// A minute ago: within Marketo's activity retention, so the pull reads the activity log.
const SINCE = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startSyncHarness(env.nativeConnection, { seed: { leads: 5 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const stepNames = CYCLE_STEPS.map((s) => s.activity);

test('cycles run the seed steps in order, wait the interval from each cycle end, and an idle cycle costs at most 4 calls', async () => {
  const callsBefore = h.countedCalls();
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'loop-order', args: [{ since: SINCE, maxCycles: 3 }] });
  const result = await handle.result();
  expect(result.cycles).toBe(3);

  const events = await historyOf(handle);
  const names = events.map((e) => e.name);
  // Bookkeeping first, then per cycle: history row, schema (first cycle only), the steps, close.
  expect(names.slice(0, 2)).toEqual(['prepareSyncLoop', 'syncPosition']);
  const cycles: string[][] = [];
  for (const e of events.slice(2)) {
    if (e.name === 'beginCycle') cycles.push([]);
    if (e.kind === 'activity') cycles.at(-1)!.push(e.name);
  }
  expect(cycles).toHaveLength(3);
  // All 14 steps, in the seed's order (the worker registers every one of them).
  const available = cycles[0]!.filter((n) => stepNames.includes(n));
  expect(available).toEqual(stepNames);
  expect(cycles[0]).toEqual(['beginCycle', 'refreshMarketoSchema', 'checkMappingAgainstSchema', ...available, 'finishCycle']);
  expect(cycles[1]).toEqual(['beginCycle', ...available, 'finishCycle']);
  expect(cycles[2]).toEqual(cycles[1]);

  // One timer between cycles, started after the cycle closed, of exactly the interval.
  const timers = events.filter((e) => e.kind === 'timer');
  expect(timers.map((t) => t.ms)).toEqual([300_000, 300_000]);
  for (let i = 0; i < events.length; i++) if (events[i]!.kind === 'timer') expect(events[i - 1]!.name).toBe('finishCycle');

  const status = await handle.query(syncStatusQuery);
  expect(status.state).toBe('stopped');
  const last = status.lastCycle!;
  expect(last).toMatchObject({ number: 3, outcome: 'succeeded', schemaRefreshed: false });
  expect(last.durationMs).toBeGreaterThanOrEqual(0);
  expect(status.startedFrom).toEqual({ 'marketo:leads': SINCE });
  expect(Date.parse(status.watermarks['marketo:leads']!)).toBeGreaterThanOrEqual(Date.parse(SINCE));
  expect(status.schema.fingerprint).toMatch(/^[0-9a-f]{64}$/);

  const history = (await h.store.cycles.recent(10)).filter((c) => c.kind === 'sync').reverse();
  expect(history.map((c) => c.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  // What the steps reported is what Marketo counted.
  expect(history.reduce((n, c) => n + c.apiCalls, 0)).toBe(h.countedCalls() - callsBefore);
  // Only the first cycle described Marketo (6 calls: 5 describes and the custom object listing);
  // an idle cycle stays within the goal of 4 calls.
  const idle = history.slice(1).map((c) => c.apiCalls);
  console.log(`idle cycle calls: ${idle.join(', ')}; first cycle ${history[0]!.apiCalls}`);
  expect(history[0]!.apiCalls).toBeGreaterThanOrEqual(idle[0]! + 6);
  for (const calls of idle) expect(calls).toBeLessThanOrEqual(4);
});

test('the interval counts from the cycle end: a cycle that takes time does not shorten the wait', async () => {
  // Every Describe takes 400 ms: the first cycle (6 of them) lasts over 2 seconds.
  h.emulator.runtime.faults.add({ path: '/rest/v1/*describe*', latencyMs: 400, count: 6 });
  const handle = await env.client.workflow.start(syncLoop, {
    taskQueue: h.taskQueue,
    workflowId: 'loop-interval',
    args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 60, schemaRefreshEveryCycles: 100 }],
  });
  await handle.result();
  const [, first] = await h.store.cycles.recent(2);
  expect(first!.durationMs).toBeGreaterThanOrEqual(2_000);
  // Counted from the start, the wait would have been 2 s short of the interval.
  const events = await historyOf(handle);
  expect(events.filter((e) => e.kind === 'timer').map((t) => t.ms)).toEqual([60_000]);
  const status = await handle.query(syncStatusQuery);
  expect(status.lastCycle!.number).toBe(2);
});

test('syncNow wakes the loop early; pause holds it (syncNow kept), resume runs at once', async () => {
  const handle = await env.client.workflow.start(syncLoop, {
    taskQueue: h.taskQueue,
    workflowId: 'loop-signals',
    args: [{ since: SINCE, maxCycles: 3, intervalSeconds: 3_600 }],
  });
  const first = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done, sleeping');
  expect(Date.parse(first.nextRunAt!) - Date.parse(first.lastCycle!.finishedAt)).toBe(3_600_000);

  await handle.signal(syncNowSignal);
  const second = await statusWhen(handle, (s) => s.cycles === 2 && s.state === 'sleeping', 'second cycle after syncNow');
  // Woken long before its hour was up.
  expect(Date.parse(second.lastCycle!.startedAt) - Date.parse(first.lastCycle!.finishedAt)).toBeLessThan(600_000);

  await handle.signal(syncPauseSignal, { reason: 'CRM maintenance window' });
  const paused = await statusWhen(handle, (s) => s.state === 'paused', 'paused');
  expect(paused.pauseReason).toBe('CRM maintenance window');
  await handle.signal(syncNowSignal);
  // Still paused after the signal: the query answers after the signal was handled.
  await new Promise((r) => setTimeout(r, 300));
  const held = await handle.query(syncStatusQuery);
  expect(held).toMatchObject({ state: 'paused', cycles: 2, pauseReason: 'CRM maintenance window' });

  await handle.signal(syncResumeSignal);
  const result = await handle.result();
  expect(result.cycles).toBe(3);
  expect(Date.parse(result.lastCycle!.startedAt) - Date.parse(second.lastCycle!.finishedAt)).toBeLessThan(600_000);
  const final = await handle.query(syncStatusQuery);
  expect(final.pauseReason).toBeUndefined();
});

test('setInterval is validated, moves the next run, and the new interval survives continue-as-new with the loop state', async () => {
  const handle = await env.client.workflow.start(syncLoop, {
    taskQueue: h.taskQueue,
    workflowId: 'loop-interval-update',
    args: [{ since: SINCE, maxCycles: 4, cyclesPerRun: 2, intervalSeconds: 3_600 }],
  });
  const first = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');

  await expect(handle.executeUpdate(syncSetIntervalUpdate, { args: [{ intervalSeconds: 0 }] })).rejects.toThrow(WorkflowUpdateFailedError);
  await expect(handle.executeUpdate(syncSetIntervalUpdate, { args: [{ intervalSeconds: 1.5 }] })).rejects.toThrow(WorkflowUpdateFailedError);
  expect((await handle.query(syncStatusQuery)).intervalSeconds).toBe(3_600);

  const updated = await handle.executeUpdate(syncSetIntervalUpdate, { args: [{ intervalSeconds: 120 }] });
  expect(updated.intervalSeconds).toBe(120);
  expect(Date.parse(updated.nextRunAt!)).toBe(Date.parse(first.lastCycle!.finishedAt) + 120_000);

  const result = await handle.result();
  expect(result.cycles).toBe(4);
  const status = await handle.query(syncStatusQuery);
  // Two runs of two cycles: the second run carried the count, the interval and the schema fingerprint.
  expect(status).toMatchObject({ run: 2, cycles: 4, intervalSeconds: 120 });
  const secondRun = await historyOf(handle);
  // The wait after cycle 2 went on in the new run from the carried end of that cycle (what was
  // left of it: without the carried end the new run would have started cycle 3 at once), then a
  // whole interval after cycle 3.
  const timers = secondRun.filter((e) => e.kind === 'timer').map((t) => t.ms!);
  expect(timers).toHaveLength(2);
  expect(timers[0]).toBeGreaterThan(0);
  expect(timers[0]).toBeLessThanOrEqual(120_000);
  expect(timers[1]).toBe(120_000);
  // The carried fingerprint spared the second run a Describe.
  expect(secondRun.filter((e) => e.name === 'refreshMarketoSchema')).toHaveLength(0);
  expect(status.lastCycle!.number).toBe(4);
});

test('a syncNow that arrives during a cycle is carried over continue-as-new: the next run starts its cycle at once', async () => {
  // Reading the lead changes takes 3 s once: the signal lands while cycle 1 runs.
  h.emulator.runtime.faults.add({ path: '/rest/v1/activities.json', latencyMs: 3_000, count: 1 });
  const handle = await env.client.workflow.start(syncLoop, {
    taskQueue: h.taskQueue,
    workflowId: 'loop-carry-now',
    args: [{ since: SINCE, maxCycles: 2, cyclesPerRun: 1, intervalSeconds: 3_600 }],
  });
  await statusWhen(handle, (s) => s.state === 'running' && s.step?.activity === 'pullLeadsAndCompanies', 'cycle 1 reading lead changes');
  await handle.signal(syncNowSignal);
  const result = await handle.result();
  expect(result.cycles).toBe(2);
  const status = await handle.query(syncStatusQuery);
  expect(status).toMatchObject({ run: 2, cycles: 2 });
  // The second run did not wait its hour: no timer before its cycle.
  const secondRun = await historyOf(handle);
  expect(secondRun.filter((e) => e.kind === 'timer')).toEqual([]);
  expect(secondRun.filter((e) => e.name === 'beginCycle')).toHaveLength(1);
});

test('pause during a cycle holds before the next step (nothing more scheduled); resume finishes the same cycle', async () => {
  // Reading the lead changes takes 3 s once: the pause lands while step 4 runs.
  h.emulator.runtime.faults.add({ path: '/rest/v1/activities.json', latencyMs: 3_000, count: 1 });
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'loop-pause-mid', args: [{ since: SINCE, maxCycles: 1 }] });
  await statusWhen(handle, (s) => s.state === 'running' && s.step?.activity === 'pullLeadsAndCompanies', 'cycle 1 in step 4');
  await handle.signal(syncPauseSignal, { reason: 'look at step 4' });
  const paused = await statusWhen(handle, (s) => s.state === 'paused', 'paused mid-cycle');
  expect(paused).toMatchObject({ cycles: 1, pauseReason: 'look at step 4' });
  expect(paused.lastCycle).toBeUndefined();
  // Step 4 finished; step 5 was not scheduled while paused.
  const scheduled = (await historyOf(handle)).filter((e) => e.kind === 'activity').map((e) => e.name);
  expect(scheduled.at(-1)).toBe('pullLeadsAndCompanies');

  await handle.signal(syncResumeSignal);
  const result = await handle.result();
  expect(result.lastCycle).toMatchObject({ number: 1, outcome: 'succeeded' });
  expect(result.lastCycle!.steps.map((s) => s.step)).toEqual(stepNames);
});
