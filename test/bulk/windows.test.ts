import { planWindows, validateWindow, MARKETO_EPOCH } from '../../src/marketo/bulk/windows.js';

const DAY = 86_400_000;

function assertContiguous(windows: { startAt: string; endAt: string }[], startAt: string, endAt: string): void {
  expect(windows[0]?.startAt).toBe(startAt);
  expect(windows.at(-1)?.endAt).toBe(endAt);
  for (const [i, w] of windows.entries()) {
    expect(w.startAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(w.endAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(w.endAt) - Date.parse(w.startAt)).toBeLessThanOrEqual(31 * DAY);
    expect(() => validateWindow(w)).not.toThrow();
    const next = windows[i + 1];
    if (next) expect(Date.parse(next.startAt) - Date.parse(w.endAt)).toBe(1000);
  }
}

describe('planWindows', () => {
  it('cuts a year into 31-day windows with no gap and no overlap', () => {
    const windows = planWindows({ startAt: '2023-01-01T00:00:00Z', endAt: '2023-12-31T23:59:59Z' });
    expect(windows).toHaveLength(12); // 365 days / 31 → 11.8
    expect(windows[0]).toEqual({ startAt: '2023-01-01T00:00:00Z', endAt: '2023-01-31T23:59:59Z' });
    assertContiguous(windows, '2023-01-01T00:00:00Z', '2023-12-31T23:59:59Z');
  });

  it('counts the leap day of 2024', () => {
    const windows = planWindows({ startAt: '2024-02-01T00:00:00Z', endAt: '2024-03-03T23:59:59Z' });
    // Feb 2024 has 29 days: Feb 1 → Mar 2 is 31 days, so Mar 3 spills into a second window.
    expect(windows).toEqual([
      { startAt: '2024-02-01T00:00:00Z', endAt: '2024-03-02T23:59:59Z' },
      { startAt: '2024-03-03T00:00:00Z', endAt: '2024-03-03T23:59:59Z' },
    ]);
    const nonLeap = planWindows({ startAt: '2023-02-01T00:00:00Z', endAt: '2023-03-03T23:59:59Z' });
    expect(nonLeap).toHaveLength(1);
  });

  it('keeps windows at 31 real days across DST changes given in local offsets', () => {
    // US Central: CST (-06:00) until 2024-03-10, CDT (-05:00) until 2024-11-03.
    const startAt = '2024-02-20T00:00:00-06:00';
    const endAt = '2024-11-20T00:00:00-06:00';
    const windows = planWindows({ startAt, endAt });
    assertContiguous(windows, '2024-02-20T06:00:00Z', '2024-11-20T06:00:00Z');
    const spring = planWindows({ startAt: '2024-03-09T12:00:00-06:00', endAt: '2024-04-09T12:00:00-05:00' });
    // 31 days minus the lost hour: still one window.
    expect(spring).toHaveLength(1);
  });

  it('never starts before 2007-01-01 and drops millis', () => {
    const windows = planWindows({ startAt: new Date(0), endAt: '2007-01-15T10:00:00.999Z' });
    expect(windows).toEqual([{ startAt: '2007-01-01T00:00:00Z', endAt: '2007-01-15T10:00:00Z' }]);
    expect(Date.parse(windows[0]!.startAt)).toBe(MARKETO_EPOCH.getTime());
  });

  it('reads every Marketo datetime spelling', () => {
    expect(planWindows({ startAt: '2024-01-01T00:00:00+0000', endAt: '2024-01-02T06:00:00+06:00' })).toEqual([
      { startAt: '2024-01-01T00:00:00Z', endAt: '2024-01-02T00:00:00Z' },
    ]);
  });

  it('honours a smaller maximum window', () => {
    const windows = planWindows({ startAt: '2024-01-01T00:00:00Z', endAt: '2024-01-10T00:00:00Z' }, { maxDays: 7 });
    expect(windows.map((w) => w.startAt)).toEqual(['2024-01-01T00:00:00Z', '2024-01-08T00:00:00Z']);
  });

  it('returns a single one-second window for an instant', () => {
    expect(planWindows({ startAt: '2024-05-05T05:05:05Z', endAt: '2024-05-05T05:05:05Z' })).toEqual([
      { startAt: '2024-05-05T05:05:05Z', endAt: '2024-05-05T05:05:05Z' },
    ]);
  });

  it('rejects bad ranges before any call, naming the field', () => {
    expect(() => planWindows({ startAt: '2024-02-01T00:00:00Z', endAt: '2024-01-01T00:00:00Z' })).toThrow(/endAt/);
    expect(() => planWindows({ startAt: '2000-01-01T00:00:00Z', endAt: '2006-12-31T00:00:00Z' })).toThrow(/2007/);
    expect(() => planWindows({ startAt: 'yesterday', endAt: '2024-01-01T00:00:00Z' })).toThrow(/startAt/);
    expect(() => planWindows({ startAt: '2024-01-01T00:00:00Z', endAt: '2024-01-02T00:00:00Z' }, { maxDays: 32 })).toThrow(/maxDays/);
  });
});

describe('validateWindow', () => {
  it('rejects what Marketo would reject', () => {
    expect(() => validateWindow({ startAt: '2024-01-01T00:00:00Z', endAt: '2024-02-01T00:00:01Z' })).toThrow(/31 days/);
    expect(() => validateWindow({ startAt: '2024-01-01T00:00:00.000Z', endAt: '2024-01-02T00:00:00Z' })).toThrow(/startAt/);
    expect(() => validateWindow({ startAt: '2006-12-31T00:00:00Z', endAt: '2007-01-02T00:00:00Z' })).toThrow(/2007/);
    expect(validateWindow({ startAt: '2024-01-01T00:00:00Z', endAt: '2024-02-01T00:00:00Z' })).toBeTruthy();
  });
});
