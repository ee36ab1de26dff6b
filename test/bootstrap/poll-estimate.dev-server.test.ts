import { writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { configureBulk } from '../../emulator/bulk/service.js';
import { seedSubscription } from '../../emulator/seed.js';
import { workflowCode } from '../../workers/worker.js';
import type { BulkExportInput, BulkExportResult } from '../../workflows/bootstrap-types.js';
import type { AwaitInput, AwaitOutcome } from '../../activities/bulk-export.js';
import type { bulkExport } from '../../workflows/bulk-export.js';
import { bootstrap } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmPersonCounts } from './support.js';

// Status polls by the parent's estimate against the fixed schedule, on the dev server with the
// emulator's paced exports: the same seven windows read twice, once each way, polls counted from
// each window's history (the in-activity wait's count, as the bench runs it: timer polls cost a
// workflow task each, so on a loaded machine they are too slow to show the schedule).
// Three jobs at Marketo at once, so the windows after the first three are given estimates. The
// sixth window holds three times the leads of the others, so its job runs well past what the
// earlier jobs let the parent expect: it must still be seen and read whole.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const UNIFORM = 500;
const LATE = 300;
const SINCE = '2024-01-01T00:00:00Z';
const HIGH = '2024-07-01T00:00:00Z';
/** The fixed schedule's steps, short against the jobs' ≈1.6 s as the bench's 250 ms are against its 1.7–8.5 s. */
const POLL = { initialMs: 100, maxMs: 1_000, queueFullMs: 500, inActivityMs: 60_000 };

beforeAll(async () => {
  env = await createDevServerEnv();
  // Short polls on short jobs: Marketo's 100 calls / 20 s would pace the runs, not the schedule.
  h = await startHarness(env.nativeConnection, {
    emulator: { seed: { leads: UNIFORM, from: SINCE, to: '2024-06-09T00:00:00Z' }, limits: { rateLimitCalls: 1_000 } },
    client: { limits: { callsPerWindow: 1_000 } },
  });
  seedSubscription(h.emulator.subscription, { leads: LATE, from: '2024-06-10T00:00:00Z', to: '2024-06-30T00:00:00Z' });
  // ≈95 rows a window: about 1.6 s of processing per job, ≈5 s for the dense window.
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 60 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

interface WindowSeen {
  result: BulkExportResult;
  input: BulkExportInput;
  /** What the in-activity wait was asked to do. */
  awaited: AwaitInput | undefined;
  /** Status calls: the in-activity wait's and any timer poll's after it. */
  statusPolls: number;
}

async function windowsOf(workflowId: string, count: number): Promise<WindowSeen[]> {
  const converter = env.client.options.loadedDataConverter.payloadConverter;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const handle = env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/leads/${i}`);
      const events = (await handle.fetchHistory()).events as HistoryEvent[];
      const input = converter.fromPayload<BulkExportInput>(events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitBulkExport');
      const awaited = scheduled ? converter.fromPayload<AwaitInput>(scheduled.activityTaskScheduledEventAttributes!.input!.payloads![0]!) : undefined;
      const done = scheduled && events.find((e) => e.activityTaskCompletedEventAttributes && Number(e.activityTaskCompletedEventAttributes.scheduledEventId) === Number(scheduled.eventId));
      const waited = done ? converter.fromPayload<AwaitOutcome>(done.activityTaskCompletedEventAttributes!.result!.payloads![0]!) : undefined;
      const timerPolls = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'bulkExportStatus').length;
      return { result: await handle.result(), input, awaited, statusPolls: (waited?.apiCalls ?? 0) + timerPolls };
    }),
  );
}

const run = (workflowId: string, pollByEstimate: boolean) =>
  env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId,
    args: [{ since: SINCE, highWatermark: HIGH, entities: { leads: { enabled: true } }, maxWindowDays: 30, poll: POLL, pollByEstimate, jobsAtMarketo: 3 }],
  });

test('polls at the expected end take fewer status calls than the fixed schedule; a job slower than expected is still seen and read whole', async () => {
  const fixed = await run('poll-fixed', false);
  const estimated = await run('poll-estimate', true);
  for (const result of [fixed, estimated]) expect(result.progress.phases.leads).toMatchObject({ windowsTotal: 7, windowsDone: 7, records: UNIFORM + LATE, written: UNIFORM + LATE, failed: 0 });
  expect((await crmPersonCounts(h)).distinctMarketoIds).toBe(UNIFORM + LATE);

  const before = await windowsOf('poll-fixed', 7);
  const after = await windowsOf('poll-estimate', 7);
  const polls = (ws: WindowSeen[]) => ws.reduce((n, w) => n + w.statusPolls, 0);

  // The fixed way gets no estimate.
  for (const w of before) expect(w.input.estimate ?? w.awaited?.estimate).toBeUndefined();
  // Every window reports Marketo's processing time; once a job has left Marketo, each window
  // started after it is given an estimate, and its wait goes by it.
  for (const w of after) expect(w.result.processingMs).toBeGreaterThanOrEqual(0);
  const withEstimate = after.filter((w) => w.input.estimate);
  expect(withEstimate.length).toBeGreaterThanOrEqual(3);
  for (const w of withEstimate) expect(w.awaited?.estimate).toEqual(w.input.estimate);

  // Fewer status calls for the windows of typical size that had an estimate, against the same
  // windows polled on the fixed schedule (the emulator counted the same calls as the histories).
  const dense = after.find((w) => w.result.rows > 200)!;
  const typical = new Set(withEstimate.filter((w) => w !== dense).map((w) => w.input.index));
  expect(typical.size).toBeGreaterThanOrEqual(2);
  const typicalPolls = (ws: WindowSeen[]) => polls(ws.filter((w) => typical.has(w.input.index)));
  expect(typicalPolls(after)).toBeLessThan(typicalPolls(before));
  const statusCalls = h.emulator.runtime.stats.snapshot().endpoints['GET /bulk/v1/leads/export/:exportId/status.json']?.counted;
  expect(statusCalls).toBe(polls(before) + polls(after));

  // The dense window ran about three times as long as the jobs before it: its poll at the expected
  // end found it unfinished, the short schedule took over, and it was read whole.
  expect(dense.input.estimate).toBeDefined();
  expect(dense.result.processingMs!).toBeGreaterThan(2 * dense.input.estimate!.processingMs);
  expect(dense.input.index).toBe(5);
  expect(dense.statusPolls).toBeGreaterThan(1);

  // The estimate run's histories replay on today's code; RECORD_HISTORIES=1 stores them for replay.test.ts.
  const parent = await env.client.workflow.getHandle('poll-estimate').fetchHistory();
  await Worker.runReplayHistory(workflowCode(), parent, 'poll-estimate');
  const child = await env.client.workflow.getHandle(`poll-estimate/leads/${dense.input.index}`).fetchHistory();
  await Worker.runReplayHistory(workflowCode(), child, `poll-estimate/leads/${dense.input.index}`);
  if (process.env.RECORD_HISTORIES === '1') {
    const encode = (h: typeof parent) => proto.temporal.api.history.v1.History.encode(h).finish();
    await writeFile(new URL('./histories/bootstrap-poll-estimate.pb', import.meta.url), encode(parent));
    await writeFile(new URL('./histories/bulk-export-poll-estimate.pb', import.meta.url), encode(child));
  }
});
