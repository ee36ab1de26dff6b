import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningEmulator } from '../../emulator/index.js';
import type { TestDatabase } from '../support/db.js';
import { json, runCli, startCliStack, stopCliStack } from './support.js';

// Every `sync` control prints one JSON document with --json, as docs/operations.md promises for
// commands whose output is data: a script can run `sync pause --json | jq`. No worker runs: the
// server takes the signals and keeps them in the loop's history, where this test reads them.
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  ({ env, emulator, db, dir } = await startCliStack('cli_sync_json', { clientId: 'sj-id', clientSecret: 'sj-secret', leads: 3 }));
});

afterAll(() => stopCliStack({ env, emulator, db, dir }));

const cliEnv = (taskQueue: string) => ({
  DATA_DIR: dir, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: db.url, TEMPORAL_SEARCH_ATTRIBUTES: 'false',
  MARKETO_BASE_URL: emulator.url, MARKETO_CLIENT_ID: 'sj-id', MARKETO_CLIENT_SECRET: 'sj-secret',
});

test('sync pause/resume/now/stop --json print one document each and signal the loop; without a loop, exit 3 with the error as JSON', async () => {
  const taskQueue = `sync-json-${Date.now()}`;
  const workflowId = `marketo-sync-loop-${taskQueue}`;
  const started = await runCli(['sync', 'start', '--no-worker', '--json'], cliEnv(taskQueue));
  expect([started.code, json(started)]).toEqual([0, { workflowId, started: true }]);

  const controls: [string[], Record<string, unknown>][] = [
    [['pause', '--reason', 'maintenance'], { workflowId, requested: 'pause' }],
    [['resume'], { workflowId, requested: 'resume' }],
    [['now'], { workflowId, requested: 'now' }],
    [['stop'], { workflowId, requested: 'stop', stopped: false }],
  ];
  for (const [args, expected] of controls) {
    const run = await runCli(['sync', ...args, '--json'], cliEnv(taskQueue));
    expect([args[0], run.code, json(run)]).toEqual([args[0], 0, expected]);
  }
  // The signals reached the loop, in order.
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const signals = (history.events ?? []).map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean);
  expect(signals).toEqual(['pause', 'resume', 'syncNow', 'stop']);
  await env.client.workflow.getHandle(workflowId).terminate('test done');

  const none = await runCli(['sync', 'now', '--json'], cliEnv(`${taskQueue}-none`));
  expect(none.code).toBe(3);
  expect(json(none)).toEqual({ error: expect.stringMatching(/^no sync loop is running/), exitCode: 3 });
}, 120_000);
