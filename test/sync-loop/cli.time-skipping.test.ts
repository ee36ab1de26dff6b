import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describeConflicts, describeSyncStatus, isHealthy, parseDurationSeconds, syncWorkflowId } from '../../client/commands/sync.js';
import { syncStatusQuery, type syncLoop } from '../../workflows/index.js';
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
    // Unmarked starts: the Java test server creates a run even while refusing unknown search attributes.
    execFile(
      tsx,
      ['client/cli.ts', 'sync', ...args],
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: env.address, TEMPORAL_SEARCH_ATTRIBUTES: 'false', TEMPORAL_TASK_QUEUE: h.taskQueue, DATABASE_URL: h.db.url }, timeout: 60_000 },
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

test('start, status, pause, resume, now, interval, stop through the CLI, with exit codes a health check can use', async () => {
  const none = await cli('status', '--json');
  expect(none.code).toBe(3);
  expect(JSON.parse(none.stdout)).toMatchObject({ exitCode: 3, error: expect.stringContaining('no sync loop is running') });

  const since = new Date(Date.now() - 60_000).toISOString();
  const started = await cli('start', '--no-worker', '--since', since, '--interval', '1h', '--json');
  expect(started.code).toBe(0);
  expect(JSON.parse(started.stdout)).toEqual({ workflowId: syncWorkflowId(h.taskQueue), started: true });

  const handle = env.client.workflow.getHandle<typeof syncLoop>(syncWorkflowId(h.taskQueue));
  await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  expect((await cli('pause', '--reason', 'CRM upgrade')).code).toBe(0);
  await statusWhen(handle, (s) => s.state === 'paused', 'paused');
  const paused = await cli('status');
  expect(paused.code).toBe(3);
  expect(paused.stdout).toContain('paused: CRM upgrade');
  expect(paused.stdout).toMatch(/last cycle #1 succeeded/);

  // Resume goes back to the hour's wait; `now` runs a cycle long before the hour is up.
  expect((await cli('resume')).code).toBe(0);
  await statusWhen(handle, (s) => s.state === 'sleeping' && s.pauseReason === undefined, 'resumed');
  expect((await handle.query(syncStatusQuery)).cycles).toBe(1);
  expect((await cli('now')).code).toBe(0);
  const second = await statusWhen(handle, (s) => s.cycles === 2 && s.state === 'sleeping', 'second cycle after sync now');
  expect(Date.parse(second.nextRunAt!) - Date.parse(second.lastCycle!.finishedAt)).toBe(3_600_000);

  const interval = await cli('interval', '10m', '--json');
  expect(interval.code).toBe(0);
  expect(JSON.parse(interval.stdout)).toMatchObject({ intervalSeconds: 600, nextRunAt: new Date(Date.parse(second.lastCycle!.finishedAt) + 600_000).toISOString() });
  expect((await cli('interval', '5 minutes')).code).toBe(2);

  const stopped = await cli('stop', '--wait');
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toContain('stopped after 2 cycles');
  // Spawning the CLI takes seconds on a loaded machine: the spawns get room.
}, 400_000);

test('health: a failed last cycle, a pause or a mapping error is not healthy', () => {
  const base = { state: 'sleeping' as const, cycles: 2, intervalSeconds: 300, effectiveIntervalSeconds: 300, watermarks: {}, schema: { mappingWarnings: [], mappingErrors: [] }, unavailableSteps: [], run: 1 };
  const cycle = { number: 2, historyId: '2', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', durationMs: 1000, apiCalls: 2, schemaRefreshed: false, steps: [] };
  expect(isHealthy({ ...base, lastCycle: { ...cycle, outcome: 'succeeded' } }, true)).toBe(true);
  expect(isHealthy({ ...base, lastCycle: { ...cycle, outcome: 'failed', error: 'boom' } }, true)).toBe(false);
  expect(isHealthy({ ...base, state: 'paused', pauseReason: 'x' }, true)).toBe(false);
  expect(isHealthy(base, false)).toBe(false);
  expect(isHealthy({ ...base, schema: { mappingWarnings: [], mappingErrors: ["lead ⇄ lead: Marketo field 'title' no longer exists"] }, lastCycle: { ...cycle, outcome: 'succeeded' } }, true)).toBe(false);
  expect(describeSyncStatus({ ...base, lastCycle: { ...cycle, outcome: 'failed', error: 'boom' } })).toContain('error: boom');
});

test('sync conflicts lists the conflicts of the cycle history (JSON and text), one cycle or all; a bad cycle id is bad usage', async () => {
  const first = await h.store.cycles.start('sync');
  const second = await h.store.cycles.start('sync');
  await h.store.cycles.recordConflicts(first, [{ entity: 'lead', recordKey: '101', field: 'title', rule: 'crm', winner: 'crm' }]);
  await h.store.cycles.recordConflicts(second, [
    { entity: 'lead', recordKey: '202', field: 'phone', rule: 'crm', winner: 'crm' },
    { entity: 'lead', recordKey: '202', field: 'phone', rule: 'crm', winner: 'crm' },
  ]);

  const one = await cli('conflicts', '--cycle', second, '--json');
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout)).toEqual([{ cycleId: second, entity: 'lead', recordKey: '202', field: 'phone', rule: 'crm', winner: 'crm', at: expect.any(String) }]);
  const all = await cli('conflicts', '--json');
  expect((JSON.parse(all.stdout) as { cycleId: string }[]).map((r) => r.cycleId)).toEqual([second, first]);
  const text = await cli('conflicts', '--cycle', first);
  expect(text.stdout).toMatch(/CYCLE\s+AT\s+ENTITY\s+RECORD\s+FIELD\s+RULE\s+WINNER/);
  expect(text.stdout).toMatch(new RegExp(`${first}\\s+\\S+\\s+lead\\s+101\\s+title\\s+crm\\s+crm`));
  expect((await cli('conflicts', '--cycle', 'last')).code).toBe(2);
  expect(describeConflicts([], '7')).toBe('no conflicts in cycle 7');
});
