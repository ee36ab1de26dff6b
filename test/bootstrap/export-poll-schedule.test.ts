import { ExportEstimates } from '../../workflows/export-estimates.js';
import { firstCursor, nextPollDelay, type JobEstimate, type PollCursor } from '../../workflows/export-poll-schedule.js';

// The poll schedule and the parent's queue model as plain functions; the workflow test
// (poll-estimate.dev-server.test.ts) shows them at work against the emulator.
const FAST = { initialMs: 250, maxMs: 1_000 };
const PRODUCTION = { initialMs: 60_000, maxMs: 300_000 };
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The delays a wait would sleep, given what each poll sees. */
function delays(timing: typeof FAST, estimate: JobEstimate | undefined, looks: { at: number; status: string; startedAt?: string }[]): number[] {
  let cursor: PollCursor = firstCursor(timing);
  return looks.map((seen, i) => {
    const next = nextPollDelay({ timing, cursor, seen, now: seen.at, estimate, firstLook: i === 0 });
    cursor = next.cursor;
    return next.delayMs;
  });
}

test('without an estimate the schedule is the fixed backoff: initial, ×1.5, capped', () => {
  const looks = Array.from({ length: 6 }, (_, i) => ({ at: i, status: 'Queued' }));
  expect(delays(FAST, undefined, looks)).toEqual([250, 375, 563, 845, 1_000, 1_000]);
  expect(delays(PRODUCTION, undefined, looks)).toEqual([60_000, 90_000, 135_000, 202_500, 300_000, 300_000]);
});

test('a queued job is first polled at its expected end, not before', () => {
  const estimate = { readyAt: 10_000, processingMs: 4_000 };
  // Enqueued at 1,000 behind other jobs: one sleep to 10,000 instead of a dozen short polls.
  expect(delays(FAST, estimate, [{ at: 1_000, status: 'Queued' }])).toEqual([9_000]);
});

test('a processing job is polled when its start plus the processing time has passed (start: half a second after the whole-second stamp)', () => {
  const estimate = { readyAt: 10_000, processingMs: 4_000 };
  const startedAt = Date.parse('2026-01-01T00:00:05Z');
  const [first, second] = delays(FAST, { ...estimate, readyAt: startedAt + 2_000 }, [
    { at: startedAt - 500, status: 'Queued' },
    // The first look (at the parent's guess) finds it started later than the parent thought.
    { at: startedAt + 2_000, status: 'Processing', startedAt: iso(startedAt) },
  ]);
  expect(first).toBe(2_500);
  expect(second).toBe(4_000 + 500 - 2_000);
});

test('a job still running at its expected end is polled on the short schedule from there: a slow job is still seen', () => {
  const estimate = { readyAt: 5_000, processingMs: 4_000 };
  const started = Date.parse('2026-01-01T00:00:01Z');
  const looks = [
    { at: 1_000, status: 'Queued' },
    { at: started + 4_500, status: 'Processing', startedAt: iso(started) },
    { at: started + 4_750, status: 'Processing', startedAt: iso(started) },
    { at: started + 5_125, status: 'Processing', startedAt: iso(started) },
    { at: started + 5_688, status: 'Processing', startedAt: iso(started) },
    { at: started + 6_533, status: 'Processing', startedAt: iso(started) },
    { at: started + 7_533, status: 'Processing', startedAt: iso(started) },
  ];
  expect(delays(FAST, estimate, looks)).toEqual([4_000, 250, 375, 563, 845, 1_000, 1_000]);
});

test('a job still queued at a later look waits a whole processing time: it cannot finish sooner', () => {
  const estimate = { readyAt: 5_000, processingMs: 4_000 };
  expect(delays(FAST, estimate, [{ at: 1_000, status: 'Queued' }, { at: 5_000, status: 'Queued' }])).toEqual([4_000, 4_000]);
});

test('a short job queued behind long ones is polled no more often than the fixed schedule would', () => {
  const estimate = { readyAt: 1_300, processingMs: 300 };
  const looks = [0, 1_300, 1_550, 1_925, 2_488, 3_333, 4_333].map((at, i) => ({ at, status: i === 0 ? 'Created' : 'Queued' }));
  expect(delays(FAST, estimate, looks)).toEqual([1_300, 300, 375, 563, 845, 1_000, 1_000]);
});

test("production: never sooner than Marketo's 60 s refresh; a long job skips the useless polls", () => {
  // A job expected 20 s after enqueue is still first polled at 60 s.
  expect(delays(PRODUCTION, { readyAt: 20_000, processingMs: 20_000 }, [{ at: 0, status: 'Queued' }])).toEqual([60_000]);
  // A job expected to take 40 minutes: one poll at its end instead of the backoff's 60, 150, 285, 487, 787 s, ….
  expect(delays(PRODUCTION, { readyAt: 2_400_000, processingMs: 2_400_000 }, [{ at: 0, status: 'Queued' }])).toEqual([2_400_000]);
});

describe('the queue model', () => {
  const day = 86_400_000;
  const window = (i: number, days = 10) => ({ startAt: iso(Date.UTC(2024, 0, 1) + i * days * day), endAt: iso(Date.UTC(2024, 0, 1) + (i + 1) * days * day - 1000) });
  const everyone = () => true;

  test('no estimate until a job of the phase has completed', () => {
    const model = new ExportEstimates();
    expect(model.enqueue('leads/0', 'leads', window(0), 0, everyone)).toBeUndefined();
    model.completed('leads/0', 4_000);
    // Told twice (the window's update, then its result): counted once.
    model.completed('leads/0', 8_000);
    expect(model.enqueue('leads/1', 'leads', window(1), 0, everyone)).toEqual({ readyAt: 4_000, processingMs: 4_000 });
    // Another phase learns from its own jobs only.
    expect(model.enqueue('opportunities/0', 'opportunities', window(0), 0, everyone)).toBeUndefined();
  });

  test('a job behind two others starts when the first of them ends; one behind three when the second ends', () => {
    const model = new ExportEstimates();
    model.enqueue('leads/0', 'leads', window(0), 0, () => false);
    model.completed('leads/0', 4_000);
    model.forget('leads/0');
    expect(model.enqueue('leads/1', 'leads', window(1), 0, everyone)?.readyAt).toBe(4_000);
    expect(model.enqueue('leads/2', 'leads', window(2), 0, everyone)?.readyAt).toBe(4_000);
    expect(model.enqueue('leads/3', 'leads', window(3), 0, everyone)?.readyAt).toBe(8_000);
    expect(model.enqueue('leads/4', 'leads', window(4), 0, everyone)?.readyAt).toBe(8_000);
    expect(model.enqueue('leads/5', 'leads', window(5), 0, everyone)?.readyAt).toBe(12_000);
    // Two jobs done (downloading: no longer at Marketo): the next one is behind the other three (ending 8,000, 8,000, 12,000).
    const gone = new Set(['leads/1', 'leads/2']);
    model.forget('leads/1');
    expect(model.enqueue('leads/6', 'leads', window(6), 4_000, (k) => !gone.has(k))?.readyAt).toBe(12_000);
  });

  test('scaled by window length, from the mean of recent jobs; an overdue job ahead counts as ending now', () => {
    const model = new ExportEstimates();
    for (const [i, took] of [[0, 3_000], [1, 5_000]] as const) {
      model.enqueue(`leads/${i}`, 'leads', window(i), 0, () => false);
      model.completed(`leads/${i}`, took);
      model.forget(`leads/${i}`);
    }
    expect(model.processingMs('leads', window(0, 5))).toBeCloseTo(2_000, 0);
    expect(model.enqueue('a', 'leads', window(2), 0, everyone)?.readyAt).toBe(4_000);
    expect(model.enqueue('b', 'leads', window(3), 0, everyone)?.readyAt).toBe(4_000);
    // At 10,000 both are overdue: the next job is taken to start now.
    expect(model.enqueue('c', 'leads', window(4), 10_000, everyone)?.readyAt).toBe(14_000);
  });
});
