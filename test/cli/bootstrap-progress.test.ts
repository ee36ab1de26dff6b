import { describeProgress } from '../../client/commands/bootstrap.js';
import { barPayload, expiredNote } from '../../client/output/bootstrap-progress.js';
import type { BootstrapProgress, PhaseProgress } from '../../workflows/bootstrap-types.js';

// What `bootstrap status` prints and what the live bars show, from the workflow's progress query:
// exports Marketo forgot and the workflow created again are shown once there are any.
function phase(extra: Partial<PhaseProgress> = {}): PhaseProgress {
  return { enabled: true, state: 'running', windowsTotal: 4, windowsDone: 2, records: 1200, bytes: 3 * 1024 * 1024, written: 1190, failed: 10, apiCalls: 17, active: { '2': 'processing' }, ...extra };
}

function progress(phases: Record<string, PhaseProgress>): BootstrapProgress {
  return { state: 'running', highWatermark: '2026-11-28T00:00:00Z', phases };
}

test('status lines show expired exports only for a phase that had some', () => {
  const text = describeProgress(progress({ leads: phase({ expiredExports: 2 }), companies: phase({ expiredExports: 0 }), programs: phase() }));
  const [, leads, companies, programs] = text.split('\n');
  expect(leads).toMatch(/^ {2}leads .* API calls 17 {2}2 expired exports recreated {2}in flight: processing$/);
  expect(companies).not.toMatch(/expired/);
  expect(programs).not.toMatch(/expired/);
  expect(expiredNote({ expiredExports: 1 })).toBe('1 expired export recreated');
});

test('a bar carries the expired exports as its last token, empty when there are none', () => {
  expect(barPayload('leads', phase({ expiredExports: 3 }), {})).toMatchObject({ phase: 'leads'.padEnd(16), records: 1200, calls: 17, state: 'running', expired: ' | 3 expired exports recreated' });
  expect(barPayload('leads', phase(), {}).expired).toBe('');
  expect(barPayload('leads', phase(), { quotaWait: { resetAt: '2026-11-29T06:00:00Z', reason: 'export quota spent' } }).state).toBe('quota paused until 2026-11-29T06:00:00Z');
});
