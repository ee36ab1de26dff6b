import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { configureBulk } from '../../emulator/bulk/service.js';
import { quotaResetAt } from '../../src/marketo/index.js';
import type { BulkExportResult } from '../../workflows/bootstrap-types.js';
import { bootstrap, bootstrapProgressQuery } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmPersonCounts } from './support.js';

// On the time-skipping server the workflow's waits are real durable timers of production length
// (60 s queue-full retry, status polls from 60 s backing off to 5 min, sleeping to the Chicago
// midnight on a spent export quota) that pass in milliseconds.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const LEADS = 400;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: LEADS, from: '2024-01-01T00:00:00Z', to: '2024-12-31T00:00:00Z' } } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

type TimerEvent = { timerStartedEventAttributes?: { startToFireTimeout?: { seconds?: unknown } | null } | null };
async function timersOf(workflowId: string): Promise<number[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events as TimerEvent[])
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout?.seconds)
    .filter((s) => s !== undefined && s !== null)
    .map((s) => Number(s));
}

test('a year is cut into 12 contiguous windows of at most 31 days; a full queue waits 60 s timers; polls back off from 60 s', async () => {
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 0 }, faults: { queueFull: 2 } });
  const id = 'bootstrap-year';
  const result = await env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: id,
    args: [{ since: '2024-01-01T00:00:00Z', highWatermark: '2024-12-31T23:59:59Z', entities: { leads: { enabled: true } } }],
  });
  expect(result.progress.phases.leads).toMatchObject({ windowsTotal: 12, windowsDone: 12, records: LEADS, written: LEADS, failed: 0 });

  const windows: BulkExportResult[] = [];
  for (let i = 0; i < 12; i++) windows.push(await env.client.workflow.getHandle<typeof import('../../workflows/bulk-export.js').bulkExport>(`${id}/leads/${i}`).result());
  expect(windows[0]!.window.startAt).toBe('2024-01-01T00:00:00Z');
  expect(windows[11]!.window.endAt).toBe('2024-12-31T23:59:59Z');
  for (let i = 0; i < 12; i++) {
    const w = windows[i]!.window;
    expect(Date.parse(w.endAt) - Date.parse(w.startAt)).toBeLessThanOrEqual(31 * 86_400_000 - 1000);
    if (i > 0) expect(Date.parse(w.startAt)).toBe(Date.parse(windows[i - 1]!.window.endAt) + 1000);
  }

  // The two 1029 "Too many jobs in queue" answers went to the first windows to enqueue: each
  // waited one 60 s timer before enqueueing again.
  const allTimers = await Promise.all(windows.map((w) => timersOf(`${id}/leads/${w.index}`)));
  const enqueueCalls = h.emulator.runtime.stats.snapshot().endpoints['POST /bulk/v1/leads/export/:exportId/enqueue.json']?.calls;
  expect(enqueueCalls).toBe(12 + 2);
  // Every poll waits at least Marketo's 60 s status refresh; the first wait of a queue-full window is its 60 s retry.
  for (const timers of allTimers) {
    expect(timers.length).toBeGreaterThan(0);
    for (const t of timers) expect(t).toBeGreaterThanOrEqual(60);
    expect(Math.max(...timers)).toBeLessThanOrEqual(300);
  }
  expect(allTimers.filter((timers) => timers.filter((t) => t === 60).length >= 2).length).toBeGreaterThanOrEqual(1);

  const counts = await crmPersonCounts(h);
  expect(counts.distinctMarketoIds).toBe(LEADS);
});

test('a spent 500 MB export quota pauses visibly until the Chicago reset, then the bootstrap completes', async () => {
  // A quota so small the first exports spend it: later windows find create answered 1029 quota.
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 0, dailyQuotaBytes: 20_000 } });
  const handle = await env.client.workflow.start(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: 'bootstrap-quota',
    args: [{ since: '2024-01-01T00:00:00Z', highWatermark: '2024-12-31T23:59:59Z', entities: { leads: { enabled: true } } }],
  });
  // Awaiting the result is what lets the test server skip time.
  const finished = handle.result();
  let progress = await handle.query(bootstrapProgressQuery);
  for (let i = 0; i < 200 && !progress.quotaWait; i++) {
    await new Promise((r) => setTimeout(r, 100));
    progress = await handle.query(bootstrapProgressQuery);
  }
  expect(progress.quotaWait?.resetAt).toBe(quotaResetAt(new Date(h.emulator.runtime.clock.now())).toISOString());
  expect(Object.values(progress.phases.leads!.active)).toContain('quota-paused');

  // Marketo's day turns over (as often as the tiny quota needs): the paused windows go on.
  let days = 0;
  while ((await handle.describe()).status.name === 'RUNNING') {
    const now = await handle.query(bootstrapProgressQuery);
    // Days pass only while every open window waits for the quota. A job queued, processing or
    // Completed-but-not-yet-fetched stays on Marketo's clock: at a day per half second a loaded
    // machine could otherwise age it past the 30-day job retention (1003 not found) or the
    // 7-day file retention before the window's next poll.
    const states = Object.values(now.phases.leads!.active);
    if (now.quotaWait && states.length > 0 && states.every((s) => s === 'quota-paused')) {
      const emulatorNow = h.emulator.runtime.clock.now();
      h.emulator.runtime.clock.advance(quotaResetAt(new Date(emulatorNow)).getTime() - emulatorNow + 5 * 60_000);
      days += 1;
    }
    // One Marketo day per half second: the workflow retries within milliseconds of each reset.
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(days).toBeGreaterThanOrEqual(1);
  const result = await finished;
  expect(result.progress.phases.leads).toMatchObject({ windowsDone: 12, records: LEADS, failed: 0 });
  expect(result.progress.quotaWait).toBeUndefined();
});
