import { PassThrough } from 'node:stream';
import { BootstrapBars, type BootstrapBarsOptions } from '../../client/output/bootstrap-bars.js';
import { demoBootstrapBars } from '../../client/runtime/demo.js';
import type { BootstrapProgress, PhaseProgress } from '../../workflows/bootstrap-types.js';

// The live bars as drawn (cli-progress writing to a stream), for `marketo-sync bootstrap` and for
// the demo: both show exports Marketo forgot and the workflow created again, the same way.

function phase(extra: Partial<PhaseProgress> = {}): PhaseProgress {
  return { enabled: true, state: 'running', windowsTotal: 4, windowsDone: 1, records: 1200, bytes: 3 * 1024 * 1024, written: 1190, failed: 10, apiCalls: 17, active: {}, ...extra };
}

/** Draws the progress updates in turn and returns the last frame's lines. */
function draw(make: (options: BootstrapBarsOptions) => BootstrapBars, updates: BootstrapProgress[]): string[] {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const bars = make({ stream, noTTYOutput: true });
  for (const p of updates) bars.show(p);
  bars.stop();
  const lines = text.trimEnd().split('\n');
  return lines.slice(-Object.keys(updates.at(-1)!.phases).length);
}

const updates: BootstrapProgress[] = [
  { state: 'running', highWatermark: '2026-11-28T00:00:00Z', phases: { leads: phase() } },
  { state: 'running', highWatermark: '2026-11-28T00:00:00Z', phases: { leads: phase({ windowsDone: 3, expiredExports: 2 }), companies: phase({ windowsDone: 0, windowsTotal: 0, expiredExports: 0 }) } },
];

test('the demo draws the bars of marketo-sync bootstrap, expired exports included, indented', () => {
  const command = draw((o) => new BootstrapBars(o), updates);
  const demo = draw(demoBootstrapBars, updates);
  expect(command[0]).toMatch(/^leads +\|.*\| 3\/4 windows \| 1200 records \| 3\.0 MB \| 17 calls \| running \| 2 expired exports recreated$/);
  expect(command[1]).toMatch(/^companies +\|.*\| 0\/1 windows \| 1200 records \| 3\.0 MB \| 17 calls \| running$/);
  expect(demo).toEqual(command.map((line) => `  ${line}`));
});

test('a quota pause shows on every bar', () => {
  const paused = { ...updates[1]!, quotaWait: { resetAt: '2026-11-29T06:00:00Z', reason: 'export quota spent' } };
  for (const line of draw(demoBootstrapBars, [paused])) expect(line).toMatch(/\| quota paused until 2026-11-29T06:00:00Z/);
});

test('where the stream is not a terminal, each phase gets a line when its windows or state change, not bars', () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const bars = demoBootstrapBars({ stream });
  bars.show(updates[0]!);
  bars.show(updates[0]!); // nothing moved: nothing written
  bars.show({ ...updates[0]!, phases: { leads: phase({ records: 1500 }) } }); // records alone: too chatty to write
  bars.show(updates[1]!);
  bars.stop();
  expect(text.trimEnd().split('\n')).toEqual([
    '  leads            1/4 windows | 1200 records | 3.0 MB | 17 calls | running',
    '  leads            3/4 windows | 1200 records | 3.0 MB | 17 calls | running | 2 expired exports recreated',
    '  companies        0/0 windows | 1200 records | 3.0 MB | 17 calls | running',
  ]);
  expect(text).not.toContain('█');
});
