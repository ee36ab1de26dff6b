import type { CrmField, CrmValue } from '../crm/connector.js';
import type { MarketoField } from './marketo-schema.js';
import { CRM_FAMILY, MARKETO_FAMILY, MARKETO_STRING_LENGTH, MARKETO_TEXT_LENGTH, type Family } from './types.js';

/**
 * Value transforms between Marketo's wire values (REST JSON, or bulk CSV strings) and CRM values,
 * for every Marketo data type. Errors name the field, never the value (values may be PII).
 */

export type Transformed = { ok: true; value: CrmValue } | { ok: false; error: string };

export interface TransformOptions {
  /** Picklist translation, Marketo value → CRM value. */
  valueMap?: Record<string, string>;
  truncate?: boolean;
  /** Bulk extract files write empty values as the literal `null`. */
  csvNulls?: boolean;
}

interface Target {
  name: string;
  family: Family;
  /** The concrete type, for formats (email) and lengths. */
  type: string;
  length?: number;
}

const INTEGER = /^[-+]?\d+$/;
const WHOLE_DECIMAL = /^([-+]?\d+)\.0*$/;
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const TRUE = new Set(['true', 't', '1', 'yes', 'y']);
const FALSE = new Set(['false', 'f', '0', 'no', 'n']);

export function marketoToCrm(value: unknown, from: MarketoField, to: CrmField, options: TransformOptions = {}): Transformed {
  return compileMarketoToCrm(from, to, options)(value);
}

/**
 * `marketoToCrm` for one field pair, with the target worked out once: a mapping applied to a
 * million rows calls the returned function per value.
 */
export function compileMarketoToCrm(_from: MarketoField, to: CrmField, options: TransformOptions = {}): (value: unknown) => Transformed {
  const target: Target = { name: to.name, family: CRM_FAMILY[to.type], type: to.type, length: to.length };
  const { valueMap } = options;
  // Marketo reports an unset boolean as null (or omits it, meaning false); a CRM flag that cannot
  // be null takes false, its default, instead of failing the whole record.
  const nullIsFalse = to.type === 'boolean' && !to.nullable;
  return (value) => {
    let v = value;
    if (valueMap && typeof v === 'string' && Object.hasOwn(valueMap, v)) v = valueMap[v];
    const out = convert(v, target, options, 'crm');
    if (nullIsFalse && out.ok && out.value === null) return { ok: true, value: false };
    return out;
  };
}

/**
 * A failed transform as `compileMarketoToCrmValue` answers it: a batch encoder tells a failure from
 * a value with `instanceof` and needs no result object per value.
 */
export class TransformError {
  constructor(readonly error: string) {}
}

/**
 * `compileMarketoToCrm` answering the value itself, or a `TransformError`, for writers that convert
 * every cell of a million rows. What a bulk export hands over (a string, no picklist translation)
 * takes a path of its own per family with its errors made once per field; anything else (other
 * input types, translated values, truncation, dates) goes through `compileMarketoToCrm`. Same
 * values and errors either way.
 */
export function compileMarketoToCrmValue(from: MarketoField, to: CrmField, options: TransformOptions = {}): (value: unknown) => CrmValue | TransformError {
  const general = compileMarketoToCrm(from, to, options);
  const slow = (value: unknown): CrmValue | TransformError => {
    const t = general(value);
    return t.ok ? t.value : new TransformError(t.error);
  };
  const target: Target = { name: to.name, family: CRM_FAMILY[to.type], type: to.type, length: to.length };
  const fast = stringConverter(target, options, slow);
  if (!fast) return slow;
  const { valueMap, csvNulls } = options;
  // The general path's null: a CRM flag that cannot be null takes false.
  const nullValue = to.type === 'boolean' && !to.nullable ? false : null;
  return (value) => {
    if (typeof value !== 'string' || (valueMap !== undefined && Object.hasOwn(valueMap, value))) return slow(value);
    if (value === '' || (csvNulls === true && value === 'null')) return nullValue;
    return fast(value);
  };
}

/** `convert` of a non-empty string into the CRM side, per family; undefined where it gains nothing. */
function stringConverter(target: Target, options: TransformOptions, slow: (value: string) => CrmValue | TransformError): ((value: string) => CrmValue | TransformError) | undefined {
  const error = (expected: string) => new TransformError(badMessage(target, expected));
  switch (target.family) {
    case 'text':
    case 'reference': {
      const { length } = target;
      const email = target.type === 'email';
      const notEmail = error('an email address');
      const tooLong = new TransformError(tooLongMessage(target));
      return (value) => {
        let s = value;
        if (email) {
          s = s.trim();
          if (!EMAIL.test(s)) return notEmail;
        }
        if (length !== undefined && s.length > length && [...s].length > length) return options.truncate ? slow(value) : tooLong;
        return s;
      };
    }
    case 'integer': {
      const notInteger = error('an integer');
      return (value) => {
        const s = value.trim();
        // Either pattern's digits read as the same number as the whole text.
        if (INTEGER.test(s) || WHOLE_DECIMAL.test(s)) {
          const n = Number(s);
          if (Number.isSafeInteger(n)) return n;
        }
        return notInteger;
      };
    }
    case 'decimal': {
      const notNumber = error('a number');
      return (value) => {
        const s = value.trim();
        return DECIMAL.test(s) ? Number(s) : notNumber;
      };
    }
    case 'boolean': {
      const notBoolean = error('a boolean');
      return (value) => {
        const s = value.trim().toLowerCase();
        return TRUE.has(s) ? true : FALSE.has(s) ? false : notBoolean;
      };
    }
    case 'date':
    case 'datetime':
      return undefined;
  }
}

export function crmToMarketo(value: unknown, _from: CrmField, to: MarketoField, options: TransformOptions = {}): Transformed {
  const length = to.length ?? (to.dataType === 'text' ? MARKETO_TEXT_LENGTH : to.dataType === 'string' ? MARKETO_STRING_LENGTH : undefined);
  const target: Target = { name: to.name, family: MARKETO_FAMILY[to.dataType], type: to.dataType, length: length ?? undefined };
  let v = value;
  if (options.valueMap && typeof v === 'string') {
    const reverse = Object.entries(options.valueMap).find(([, crm]) => crm === v);
    if (reverse) v = reverse[0];
  }
  return convert(v, target, options, 'marketo');
}

function convert(value: unknown, target: Target, options: TransformOptions, side: 'crm' | 'marketo'): Transformed {
  if (value === null || value === undefined || value === '' || (options.csvNulls && value === 'null')) return { ok: true, value: null };
  switch (target.family) {
    case 'text':
    case 'reference': {
      let s: string;
      if (typeof value === 'string') s = value;
      else if (typeof value === 'number' && Number.isFinite(value)) s = String(value);
      else if (typeof value === 'boolean') s = String(value);
      else return bad(target, 'text');
      if (target.type === 'email') {
        s = s.trim();
        // Marketo accepts ASCII email addresses only.
        if (!EMAIL.test(s) || (side === 'marketo' && /[^\x20-\x7e]/.test(s))) return bad(target, 'an email address');
      }
      if (target.length !== undefined && s.length > target.length && [...s].length > target.length) {
        if (!options.truncate) return { ok: false, error: tooLongMessage(target) };
        s = [...s].slice(0, target.length).join('');
      }
      return { ok: true, value: s };
    }
    case 'integer': {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return { ok: true, value };
      // A CRM decimal holding a whole number ("40.0000", a percent) is an integer without loss.
      const whole = typeof value === 'string' ? (INTEGER.exec(value.trim()) ?? WHOLE_DECIMAL.exec(value.trim())) : null;
      if (whole) {
        const n = Number(whole[1] ?? whole[0]);
        if (Number.isSafeInteger(n)) return { ok: true, value: n };
      }
      return bad(target, 'an integer');
    }
    case 'decimal': {
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
      if (typeof value === 'string' && DECIMAL.test(value.trim())) return { ok: true, value: Number(value.trim()) };
      return bad(target, 'a number');
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      if (typeof value === 'number' && (value === 0 || value === 1)) return { ok: true, value: value === 1 };
      if (typeof value === 'string') {
        const s = value.trim().toLowerCase();
        if (TRUE.has(s)) return { ok: true, value: true };
        if (FALSE.has(s)) return { ok: true, value: false };
      }
      return bad(target, 'a boolean');
    }
    case 'date': {
      if (typeof value !== 'string') return bad(target, 'a date (YYYY-MM-DD)');
      const s = value.trim().slice(0, 10);
      const m = DATE.exec(s);
      if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) return bad(target, 'a date (YYYY-MM-DD)');
      // A datetime string only makes a date when it is exactly midnight UTC or has no time.
      if (value.trim().length > 10) {
        const ms = parseDateTime(value);
        if (ms === undefined || ms % 86_400_000 !== 0) return bad(target, 'a date (YYYY-MM-DD)');
      }
      return { ok: true, value: s };
    }
    case 'datetime': {
      if (typeof value !== 'string') return bad(target, 'an ISO-8601 datetime');
      const ms = parseDateTime(value);
      if (ms === undefined) return bad(target, 'an ISO-8601 datetime');
      return { ok: true, value: formatDateTime(ms, side === 'marketo') };
    }
  }
}

// Module level, not a closure per call: convert runs once per mapped cell.
function bad(target: Target, expected: string): Transformed {
  return { ok: false, error: badMessage(target, expected) };
}

function badMessage(target: Target, expected: string): string {
  return `invalid value for field '${target.name}': expected ${expected}`;
}

function tooLongMessage(target: Target): string {
  return `value too long for field '${target.name}' (max ${target.length} characters)`;
}

function isRealDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?(?:\+0000)?$/;

/**
 * Parses the datetime spellings Marketo and Postgres produce: `2020-08-30T07:00:58Z`,
 * `2013-09-26T06:56:35+0000`, the Asset API's `2017-07-27T01:38:33Z+0000`, old `2014-11-13 12:43:04`
 * (UTC), Postgres' `2026-11-28T10:46:31.123456+00:00`, and a bare date (midnight UTC).
 */
export function parseDateTime(input: string): number | undefined {
  const m = DATETIME.exec(input.trim());
  if (!m) return undefined;
  const [, date, time = '00:00:00', fraction = '', zone = 'Z'] = m;
  const hms = time.length === 5 ? `${time}:00` : time;
  const ms = fraction ? fraction.slice(0, 4).padEnd(4, '0') : '';
  const tz = zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const out = Date.parse(`${date}T${hms}${ms}${tz}`);
  return Number.isNaN(out) ? undefined : out;
}

/** Marketo keeps per-second resolution: drop the fraction for Marketo, keep milliseconds for the CRM. */
export function formatDateTime(ms: number, perSecond: boolean): string {
  const iso = new Date(perSecond ? Math.floor(ms / 1000) * 1000 : ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}
