import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { configureBulk } from '../../emulator/bulk/service.js';
import { createActivities } from '../../workers/activities.js';
import { workflowCode } from '../../workers/worker.js';
import type { WindowUpdate } from '../../workflows/bootstrap-types.js';
import { bootstrap } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { crmPersonCounts, FAST_POLL } from './support.js';

// What a window costs Temporal, counted from real histories on the dev server: the same leads
// loaded twice, once by a worker that declines the `bulk-export-fewer-events` patch (the code
// paths of before) and once with it. With the patch a window carries one patch marker instead of
// three and tells its parent only what the parent cannot know itself (the job's place at Marketo
// after the enqueue, and that it left Marketo): two signals instead of four, six workflow tasks
// instead of eight. The parent must still see the same progress and every lead must land.
const EV = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
let before: Worker;
let beforeRunning: Promise<void>;
const LEADS = 300;
const SINCE = '2024-01-01T00:00:00Z';
const HIGH = '2024-04-01T00:00:00Z';
const BEFORE_QUEUE = `fewer-events-before-${Math.random().toString(36).slice(2)}`;
const root = fileURLToPath(new URL('../..', import.meta.url));
const histories = path.join(root, 'test/bootstrap/histories');

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: LEADS, from: SINCE, to: '2024-03-30T00:00:00Z' } } });
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 2_000 } });
  // Same bundle, same activities: only the patch is declined.
  before = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: BEFORE_QUEUE,
    ...workflowCode(),
    activities: createActivities({ marketo: h.marketo, store: h.store, crm: h.crm }),
    patchActivationCallback: ({ patchId }) => patchId !== 'bulk-export-fewer-events',
  });
  beforeRunning = before.run();
});

afterAll(async () => {
  before?.shutdown();
  await beforeRunning;
  await h?.close();
  await env?.teardown();
});

const run = (workflowId: string, taskQueue: string) =>
  env.client.workflow.execute(bootstrap, {
    taskQueue,
    workflowId,
    // The in-activity wait, as the bench and a fused production run poll.
    args: [{ since: SINCE, highWatermark: HIGH, entities: { leads: { enabled: true } }, maxWindowDays: 31, poll: { ...FAST_POLL, inActivityMs: 60_000 } }],
  });

interface WindowCost {
  events: number;
  workflowTasks: number;
  /** The patch ids of the window's markers. */
  patches: string[];
  /** The states the window sent its parent, in order. */
  updates: WindowState[];
}
type WindowState = WindowUpdate['state'];
/** What the enqueue answered: Marketo's queue, or a free slot at once. */
const ENQUEUED = expect.stringMatching(/^(queued|processing)$/) as unknown as WindowState;

async function events(workflowId: string): Promise<HistoryEvent[]> {
  return (await env.client.workflow.getHandle(workflowId).fetchHistory()).events as HistoryEvent[];
}

async function windowCost(workflowId: string): Promise<WindowCost> {
  const converter = env.client.options.loadedDataConverter.payloadConverter;
  const history = await events(workflowId);
  const of = (type: number) => history.filter((e) => e.eventType === type);
  return {
    events: history.length,
    workflowTasks: of(EV.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length,
    patches: of(EV.EVENT_TYPE_MARKER_RECORDED).map((e) => converter.fromPayload<{ id: string }>(e.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!).id),
    updates: of(EV.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED).map((e) => converter.fromPayload<WindowUpdate>(e.signalExternalWorkflowExecutionInitiatedEventAttributes!.input!.payloads![0]!).state),
  };
}

test('a window costs two signals, one marker and six workflow tasks instead of four, three and eight; the parent sees the same progress', async () => {
  const old = await run('fewer-events-before', BEFORE_QUEUE);
  const now = await run('fewer-events', h.taskQueue);
  // 2024-01-01 .. 2024-04-01 in windows of at most 31 days.
  for (const result of [old, now]) expect(result.progress.phases.leads).toMatchObject({ state: 'done', windowsTotal: 3, windowsDone: 3, records: LEADS, written: LEADS, failed: 0, active: {} });
  expect((await crmPersonCounts(h)).distinctMarketoIds).toBe(LEADS);

  const windows = [0, 1, 2];
  const oldCosts = await Promise.all(windows.map((i) => windowCost(`fewer-events-before/leads/${i}`)));
  const costs = await Promise.all(windows.map((i) => windowCost(`fewer-events/leads/${i}`)));
  for (const c of oldCosts) {
    expect(c.patches).toEqual(['bulk-export-recreate-expired', 'bulk-export-fused-steps', 'bulk-export-poll-estimate']);
    expect(c.updates).toEqual(['creating', ENQUEUED, 'downloading', 'done']);
    // A signal's delivery can fall into a workflow task that was due anyway: at most, not exactly.
    expect(c.workflowTasks).toBeLessThanOrEqual(8);
    expect(c.events).toBeLessThanOrEqual(49);
  }
  for (const c of costs) {
    expect(c.patches).toEqual(['bulk-export-fewer-events']);
    // The enqueue's answer (the job's place at Marketo), then that the job left Marketo.
    expect(c.updates).toEqual([ENQUEUED, 'downloading']);
    // Start; start+enqueue done; its update delivered; wait done; its update delivered; ingest done.
    expect(c.workflowTasks).toBeLessThanOrEqual(6);
    expect(c.events).toBeLessThanOrEqual(35);
  }
  // The parent hears two updates per window instead of four.
  const signalsTo = async (id: string) => (await events(id)).filter((e) => e.eventType === EV.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length;
  expect(await signalsTo('fewer-events-before')).toBe(4 * windows.length);
  expect(await signalsTo('fewer-events')).toBe(2 * windows.length);

  // Both runs replay on today's code; RECORD_HISTORIES=1 stores the patched ones for the replay test below.
  const parent = await env.client.workflow.getHandle('fewer-events').fetchHistory();
  const child = await env.client.workflow.getHandle('fewer-events/leads/1').fetchHistory();
  await Worker.runReplayHistory(workflowCode(), parent, 'fewer-events');
  await Worker.runReplayHistory(workflowCode(), child, 'fewer-events/leads/1');
  await Worker.runReplayHistory(workflowCode(), await env.client.workflow.getHandle('fewer-events-before/leads/1').fetchHistory(), 'fewer-events-before/leads/1');
  if (process.env.RECORD_HISTORIES === '1') {
    const encode = (x: typeof parent) => proto.temporal.api.history.v1.History.encode(x).finish();
    await writeFile(path.join(histories, 'bootstrap-fewer-events.pb'), encode(parent));
    await writeFile(path.join(histories, 'bulk-export-fewer-events.pb'), encode(child));
  }
});

test('the recorded histories with the bulk-export-fewer-events marker replay on the current code', async () => {
  // In a plain Node process, as test/bootstrap/replay.test.ts replays the older ones.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/bootstrap/fixtures/replay-histories.ts', path.join(histories, 'bootstrap-fewer-events.pb'), 'fewer-events', path.join(histories, 'bulk-export-fewer-events.pb'), 'fewer-events/leads/1'],
    { cwd: root },
  );
  expect(stdout).toContain('replayed fewer-events\n');
  expect(stdout).toContain('replayed fewer-events/leads/1\n');
});
