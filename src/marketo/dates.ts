/**
 * Marketo datetimes are per-second ISO-8601 strings, but the offset is written three ways depending on the
 * API generation: `Z` (lead DB), `+0000` (older activities) and `+00:00`; the asset API even emits `Z+0000`.
 */
const MARKETO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z(?:\+0000|\+00:00)?|[+-]\d{2}:?\d{2})$/;

export function isMarketoDateTime(value: string): boolean {
  return MARKETO_DATETIME.test(value);
}

/** Parses any of Marketo's datetime spellings; throws on anything else so bad data is not silently shifted. */
export function parseMarketoDateTime(value: string): Date {
  const m = MARKETO_DATETIME.exec(value);
  if (!m) throw new Error(`not a Marketo datetime: ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  let offsetMinutes = 0;
  if (!zone.startsWith('Z')) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const millis = frac ? Math.round(Number(`0${frac}`) * 1000) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const date = new Date(utc - offsetMinutes * 60_000);
  // Date.UTC silently rolls 2021-02-30 over into March; refuse instead.
  const check = new Date(utc);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) {
    throw new Error(`not a calendar date: ${JSON.stringify(value)}`);
  }
  return date;
}

/** The form the lead DB itself returns and accepts everywhere: UTC, no milliseconds. */
export function formatMarketoDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error('invalid Date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
