import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describeSyncStatus, isHealthy, parseDurationSeconds, syncWorkflowId } from '../../client/commands/sync.js';
import { syncPauseSignal, type syncLoop } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startSyncHarness, statusWhen, type SyncHarness } from './support.js';

// `marketo-sync sync ...` as an operator runs it: spawned processes configured by the
// environment, against a real Temporal whose worker (the harness) runs the loop.
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');
let env: TestWorkflowEnvironment;
let h: SyncHarness;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startSyncHarness(env.nativeConnection);
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['client/cli.ts', 'sync', ...args],
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: h.taskQueue }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('durations: seconds or with a unit; anything else refused', () => {
  expect(parseDurationSeconds('300')).toBe(300);
  expect(parseDurationSeconds('90s')).toBe(90);
  expect(parseDurationSeconds('5m')).toBe(300);
  expect(parseDurationSeconds('1h')).toBe(3_600);
  expect(() => parseDurationSeconds('5 minutes')).toThrow(/not a duration/);
  expect(() => parseDurationSeconds('-1')).toThrow(/not a duration/);
});

test('start, status, pause, stop through the CLI, with exit codes a health check can use', async () => {
  const none = await cli('status', '--json');
  expect(none.code).toBe(3);
  expect(JSON.parse(none.stdout)).toMatchObject({ exitCode: 3, error: expect.stringContaining('no sync loop is running') });

  const since = new Date(Date.now() - 60_000).toISOString();
  const started = await cli('start', '--no-worker', '--since', since, '--interval', '1h', '--json');
  expect(started.code).toBe(0);
  expect(JSON.parse(started.stdout)).toEqual({ workflowId: syncWorkflowId(h.taskQueue), started: true });

  const handle = env.client.workflow.getHandle<typeof syncLoop>(syncWorkflowId(h.taskQueue));
  await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  await handle.signal(syncPauseSignal, { reason: 'CRM upgrade' });
  await statusWhen(handle, (s) => s.state === 'paused', 'paused');
  const paused = await cli('status');
  expect(paused.code).toBe(3);
  expect(paused.stdout).toContain('paused: CRM upgrade');
  expect(paused.stdout).toMatch(/last cycle #1 succeeded/);

  const stopped = await cli('stop', '--wait');
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toContain('stopped after 1 cycles');
  // Spawning the CLI takes seconds on a loaded machine: four spawns get room.
}, 240_000);

test('health: a failed last cycle or a pause is not healthy', () => {
  const base = { state: 'sleeping' as const, cycles: 2, intervalSeconds: 300, effectiveIntervalSeconds: 300, watermarks: {}, schema: { mappingWarnings: [], mappingErrors: [] }, unavailableSteps: [], run: 1 };
  const cycle = { number: 2, historyId: '2', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', durationMs: 1000, apiCalls: 2, schemaRefreshed: false, steps: [] };
  expect(isHealthy({ ...base, lastCycle: { ...cycle, outcome: 'succeeded' } }, true)).toBe(true);
  expect(isHealthy({ ...base, lastCycle: { ...cycle, outcome: 'failed', error: 'boom' } }, true)).toBe(false);
  expect(isHealthy({ ...base, state: 'paused', pauseReason: 'x' }, true)).toBe(false);
  expect(isHealthy(base, false)).toBe(false);
  expect(describeSyncStatus({ ...base, lastCycle: { ...cycle, outcome: 'failed', error: 'boom' } })).toContain('error: boom');
});
