import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// A sync loop runs for years and an on-demand run can be open across a deploy: histories recorded
// from earlier code must replay on today's workflows, so a change that would break a running loop
// (a step added, reordered or dropped without `patched()`) fails here first. Both were recorded at
// 954074b (session 7): the converge test's 6 cycles of both-side edits with syncNow signals, and a
// webhook run that absorbed five duplicate signals. Replayed in a plain Node process, as
// test/bootstrap/replay.test.ts does.
const root = fileURLToPath(new URL('../..', import.meta.url));
const histories = path.join(root, 'test/sync-loop/histories');

test('recorded syncLoop and onDemandSync histories replay on the current code', async () => {
  let out: string;
  let code = 0;
  try {
    ({ stdout: out } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/bootstrap/fixtures/replay-histories.ts', path.join(histories, 'sync-loop-converge.pb'), 'converge', path.join(histories, 'on-demand-duplicates.pb'), 'on-demand-39'],
      { cwd: root },
    ));
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    code = e.code ?? -1;
    out = e.stdout ?? '';
  }
  expect(out).toContain('replayed converge\n');
  expect(out).toContain('replayed on-demand-39\n');
  expect(code).toBe(0);
});
