import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { configureBulk } from '../../emulator/bulk/service.js';
import { bootstrap, bootstrapProgressQuery } from '../../workflows/index.js';
import type { bulkExport } from '../../workflows/bulk-export.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmPersonCounts } from './support.js';

// A bootstrap can wait for weeks (a spent quota, an operator's pause) while one of its jobs sits
// Completed at Marketo. Marketo keeps the file 7 days and the job 30: past that the file answers
// 404 and the status 1003 "Export Id … not found". The window must start a new job, not fail.
//
// On the time-skipping server time stands still until the test awaits a result, so the window's
// 5-minute status timer stays pending while the test ages the emulator's clock past retention.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const LEADS = 60;
const DAY = 86_400_000;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: LEADS, from: '2024-03-01T00:00:00Z', to: '2024-03-20T00:00:00Z' } } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

type Event = { timerStartedEventAttributes?: unknown; activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null };

/** Starts a one-window bootstrap whose first job completes while the window sleeps on its status timer. */
async function loadWithAgedJob(workflowId: string, ageMs: number) {
  // 60 rows at 20 rows/s: the job is still processing at the window's first (in-activity) poll.
  const bulk = await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 20 } });
  const owner = h.emulator.runtime.options.apiUserEmail;
  const earlier = new Set(bulk.exports.list(owner, 'leads', undefined).map((j) => j.exportId));
  const handle = await env.client.workflow.start(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId,
    args: [
      {
        since: '2024-03-01T00:00:00Z',
        highWatermark: '2024-03-25T00:00:00Z',
        entities: { leads: { enabled: true } },
        // One immediate poll in the activity, then durable 5-minute timers.
        poll: { initialMs: 50, maxMs: 300_000, queueFullMs: 60_000, inActivityMs: 1 },
      },
    ],
  });
  const child = env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/leads/0`);
  const timerStarted = async () => {
    try {
      return ((await child.fetchHistory()).events as Event[]).some((e) => e.timerStartedEventAttributes);
    } catch {
      return false; // the child has not started yet
    }
  };
  const completedJobs = () => bulk.exports.list(owner, 'leads', undefined).filter((j) => !earlier.has(j.exportId) && j.status === 'Completed');
  for (let i = 0; i < 300 && !(completedJobs().length === 1 && (await timerStarted())); i++) await new Promise((r) => setTimeout(r, 100));
  expect(completedJobs()).toHaveLength(1);
  expect(await timerStarted()).toBe(true);
  const firstJob = completedJobs()[0]!.exportId;

  // Weeks pass at Marketo while the window waits; the next job runs unthrottled.
  h.emulator.runtime.clock.advance(ageMs);
  // (Changed in place: configureBulk would replace the bulk state, jobs included.)
  bulk.options.export.rowsPerSecond = 0;
  const result = await handle.result();
  const windowResult = await child.result();
  const progress = await handle.query(bootstrapProgressQuery);
  const activities = ((await child.fetchHistory()).events as Event[]).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter((n) => n);
  return { result, windowResult, progress, firstJob, activities };
}

test('a job forgotten by Marketo (past its 30-day retention) while the window waits is created again, and the load completes', async () => {
  const { result, windowResult, progress, firstJob, activities } = await loadWithAgedJob('bootstrap-job-expired', 31 * DAY);
  expect(result.progress.phases.leads).toMatchObject({ windowsTotal: 1, windowsDone: 1, records: LEADS, written: LEADS, failed: 0, expiredExports: 1 });
  expect(progress.phases.leads?.expiredExports).toBe(1);
  expect(windowResult).toMatchObject({ expiredJobs: 1, jobAttempts: 1, rows: LEADS });
  expect(windowResult.exportId).not.toBe(firstJob);
  // Two jobs started (create + enqueue in one step each); the first one's status answered 1003.
  expect(activities.filter((n) => n === 'startBulkExport')).toHaveLength(2);
  expect(activities.filter((n) => n === 'ingestBulkExport')).toHaveLength(1);
  expect((await crmPersonCounts(h)).distinctMarketoIds).toBe(LEADS);
});

test('a Completed job whose file expired (7 days) while the window waited is created again', async () => {
  const { result, windowResult, firstJob, activities } = await loadWithAgedJob('bootstrap-file-expired', 8 * DAY);
  expect(result.progress.phases.leads).toMatchObject({ windowsDone: 1, records: LEADS, written: LEADS, failed: 0, expiredExports: 1 });
  expect(windowResult).toMatchObject({ expiredJobs: 1, jobAttempts: 1, rows: LEADS });
  expect(windowResult.exportId).not.toBe(firstJob);
  // The status still showed Completed; the file request answered 404, then a new job was read.
  expect(activities.filter((n) => n === 'ingestBulkExport')).toHaveLength(2);
  expect((await crmPersonCounts(h)).distinctMarketoIds).toBe(LEADS);
});
