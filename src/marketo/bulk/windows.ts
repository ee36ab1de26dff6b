import { z } from 'zod';
import { formatMarketoDateTime, parseMarketoDateTime } from '../dates.js';

/** Marketo holds no data before this instant; bulk filters reaching earlier only waste a job. */
export const MARKETO_EPOCH = new Date('2007-01-01T00:00:00Z');
/** Bulk extract date filters may span at most 31 days. */
export const MAX_WINDOW_DAYS = 31;

const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** A bulk `createdAt`/`updatedAt` filter: both ends inclusive, ISO-8601 in UTC without millis. */
export interface DateWindow {
  startAt: string;
  endAt: string;
}

/** A Date, or a datetime in any of Marketo's spellings (`Z`, `+0000`, `+00:00`). */
const instant = z.union([z.date(), z.string()]).transform((v, ctx) => {
  try {
    const d = typeof v === 'string' ? parseMarketoDateTime(v) : v;
    if (Number.isNaN(d.getTime())) throw new Error('invalid Date');
    return d;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'not a valid instant' });
    return z.NEVER;
  }
});

const rangeSchema = z
  .object({ startAt: instant, endAt: instant })
  .refine((r) => r.startAt.getTime() <= r.endAt.getTime(), { message: 'startAt must not be after endAt', path: ['endAt'] })
  .refine((r) => r.endAt.getTime() >= MARKETO_EPOCH.getTime(), { message: 'endAt is before 2007-01-01: Marketo has no data there', path: ['endAt'] });

const optionsSchema = z.object({ maxDays: z.number().int().min(1).max(MAX_WINDOW_DAYS).default(MAX_WINDOW_DAYS) });

function floorToSecond(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND;
}

/**
 * Cuts [startAt, endAt] into contiguous windows of at most `maxDays` (31) days. Arithmetic is on
 * UTC instants, so DST shifts in the caller's offsets cannot stretch a window past the limit. Each
 * window ends one second before the next begins (Marketo timestamps have second precision and
 * both filter ends are inclusive), so nothing is fetched twice and nothing falls between.
 * A start before 2007-01-01 is raised to it; invalid ranges throw before any call is made.
 */
export function planWindows(range: { startAt: string | Date; endAt: string | Date }, options: { maxDays?: number } = {}): DateWindow[] {
  const { startAt, endAt } = rangeSchema.parse(range);
  const { maxDays } = optionsSchema.parse(options);
  const span = maxDays * DAY - SECOND;
  const last = floorToSecond(endAt.getTime());
  let from = Math.max(floorToSecond(startAt.getTime()), MARKETO_EPOCH.getTime());
  const windows: DateWindow[] = [];
  while (from <= last) {
    const to = Math.min(from + span, last);
    windows.push({ startAt: formatMarketoDateTime(new Date(from)), endAt: formatMarketoDateTime(new Date(to)) });
    from = to + SECOND;
  }
  return windows;
}

const windowSchema = z
  .object({
    startAt: z.iso.datetime({ offset: true, precision: 0 }),
    endAt: z.iso.datetime({ offset: true, precision: 0 }),
  })
  .superRefine((w, ctx) => {
    const start = Date.parse(w.startAt);
    const end = Date.parse(w.endAt);
    if (start > end) ctx.addIssue({ code: 'custom', message: 'startAt must not be after endAt', path: ['endAt'] });
    if (end - start > MAX_WINDOW_DAYS * DAY) ctx.addIssue({ code: 'custom', message: `range exceeds ${MAX_WINDOW_DAYS} days`, path: ['endAt'] });
    if (start < MARKETO_EPOCH.getTime()) ctx.addIssue({ code: 'custom', message: 'startAt is before 2007-01-01', path: ['startAt'] });
  });

/** Checks one filter range the way Marketo would (≤31 days, no millis, not before 2007) before a call spends quota on it. */
export function validateWindow(window: DateWindow): DateWindow {
  return windowSchema.parse(window);
}
