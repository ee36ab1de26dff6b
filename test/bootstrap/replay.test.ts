import { execFile } from 'node:child_process';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import proto from '@temporalio/proto';

// Histories recorded from real runs (leads.dev-server.test.ts with RECORD_HISTORIES=1) must
// replay without nondeterminism against the current workflow code: a change that would break a
// bootstrap already running in production fails here first. Replayed in a plain Node process.
const root = fileURLToPath(new URL('../..', import.meta.url));
const histories = path.join(root, 'test/bootstrap/histories');

async function replay(pairs: [string, string][]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/bootstrap/fixtures/replay-histories.ts', ...pairs.flat()], { cwd: root });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '' };
  }
}

test('the recorded bootstrap and bulkExport histories replay on the current code', async () => {
  const result = await replay([
    // Recorded before phases and sinks: a leads-only load.
    [path.join(histories, 'bootstrap.pb'), 'bootstrap-leads'],
    [path.join(histories, 'bulk-export.pb'), 'bootstrap-leads/leads/3'],
    // Every lead-database phase (sales.dev-server.test.ts).
    [path.join(histories, 'bootstrap-sales.pb'), 'bootstrap-sales'],
    // The same after the lead ingest began loading the references its batches name
    // (`bootstrap-preload-references`: the leads source carries `preload`).
    [path.join(histories, 'bootstrap-sales-preload.pb'), 'bootstrap-sales'],
    // Status polls by the parent's estimate (`bootstrap-export-estimates`, `bulk-export-poll-estimate`;
    // poll-estimate.dev-server.test.ts): the parent, and the window whose job ran past its estimate.
    [path.join(histories, 'bootstrap-poll-estimate.pb'), 'poll-estimate'],
    [path.join(histories, 'bulk-export-poll-estimate.pb'), 'poll-estimate/leads/5'],
    // Follower rounds only when upstream loaded something (`bootstrap-sales-rounds-by-work`;
    // follower-rounds.dev-server.test.ts).
    [path.join(histories, 'bootstrap-sales-rounds.pb'), 'bootstrap-sales-rounds'],
    // One marker per window and no creating/done signals (`bulk-export-fewer-events`;
    // fewer-events.dev-server.test.ts): the parent and one window.
    [path.join(histories, 'bootstrap-fewer-events.pb'), 'fewer-events'],
    [path.join(histories, 'bulk-export-fewer-events.pb'), 'fewer-events/leads/1'],
    // Custom objects, programs, static lists and activities (marketing phases.dev-server.test.ts),
    // recorded at 954074b: before their parents' loads ran under a heartbeat timeout.
    [path.join(histories, 'bootstrap-marketing.pb'), 'marketing-1'],
  ]);
  expect(result.out).toContain('replayed bootstrap-leads\n');
  expect(result.out).toContain('replayed bootstrap-leads/leads/3\n');
  expect(result.out).toContain('replayed bootstrap-sales\n');
  expect(result.out).toContain('replayed poll-estimate\n');
  expect(result.out).toContain('replayed poll-estimate/leads/5\n');
  expect(result.out).toContain('replayed bootstrap-sales-rounds\n');
  expect(result.out).toContain('replayed fewer-events\n');
  expect(result.out).toContain('replayed fewer-events/leads/1\n');
  expect(result.out).toContain('replayed marketing-1\n');
  expect(result.code).toBe(0);
});

test('a history the code would not produce is reported as nondeterministic', async () => {
  // The same bulkExport history, but its first step scheduled another activity than the code does.
  const History = proto.temporal.api.history.v1.History;
  const history = History.decode(await readFile(path.join(histories, 'bulk-export.pb')));
  const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
  expect(scheduled.activityType?.name).toBe('createBulkExport');
  scheduled.activityType = { name: 'bulkExportStatus' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'replay-'));
  const file = path.join(dir, 'tampered.pb');
  await writeFile(file, History.encode(history).finish());
  const result = await replay([[file, 'bootstrap-leads/leads/3']]);
  expect(result.code).toBe(1);
  expect(result.out).toMatch(/FAILED bootstrap-leads\/leads\/3: DeterminismViolationError/);
});
