import type { ColumnMeta } from './introspect.js';

/**
 * Checks a record value against its column and returns its text form (null for SQL NULL): a value
 * the database would reject must fail that one record, not the whole batch. Returns `{ error }`
 * naming the problem but never echoing the value (it may be PII).
 */
export type Checked = string | null | { error: string };
export type Encoded = string | { error: string };

const NULL = '\\N';
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const INT_RANGE: Record<string, [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
};

/** The value as a field of COPY's text format. */
export function encodeCopyValue(column: ColumnMeta, value: unknown): Encoded {
  const checked = checkValue(column, value);
  if (checked === null) return NULL;
  if (typeof checked !== 'string') return checked;
  return escapeCopy(checked);
}

export function checkValue(column: ColumnMeta, value: unknown): Checked {
  const field = column.field;
  if (value === null || value === undefined || value === '') {
    if (value === '' && (field.type === 'string' || field.type === 'text')) return '';
    return field.nullable ? null : { error: `field '${field.name}' is required` };
  }
  switch (field.type) {
    case 'string':
    case 'text':
    case 'phone':
    case 'url':
    case 'reference':
    case 'email': {
      if (typeof value !== 'string' && typeof value !== 'number') return invalid(field.name, 'text');
      const s = String(value);
      if (s.includes('\u0000')) return invalid(field.name, 'text without NUL characters');
      if (field.length !== undefined && s.length > field.length && [...s].length > field.length) return { error: `value too long for field '${field.name}' (max ${field.length})` };
      if (field.type === 'email' && !EMAIL.test(s)) return invalid(field.name, 'an email address');
      return s;
    }
    case 'integer': {
      const s = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
      if (!INTEGER.test(s)) return invalid(field.name, 'an integer');
      const range = INT_RANGE[column.baseType];
      // Nine digits fit every integer type: skip the BigInt for the common case.
      if (range && s.replace('-', '').length > 9) {
        const n = BigInt(s);
        if (n < range[0] || n > range[1]) return { error: `value out of range for field '${field.name}'` };
      }
      return s;
    }
    case 'decimal':
    case 'currency':
    case 'percent': {
      const s = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
      if (!DECIMAL.test(s)) return invalid(field.name, 'a number');
      return s;
    }
    case 'boolean':
      if (value === true || value === 'true' || value === 't' || value === 1 || value === '1') return 't';
      if (value === false || value === 'false' || value === 'f' || value === 0 || value === '0') return 'f';
      return invalid(field.name, 'a boolean');
    case 'date': {
      if (typeof value !== 'string') return invalid(field.name, 'a date (YYYY-MM-DD)');
      const m = DATE.exec(value);
      if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) return invalid(field.name, 'a date (YYYY-MM-DD)');
      return value;
    }
    case 'datetime': {
      if (typeof value !== 'string' || !DATETIME.test(value) || Number.isNaN(Date.parse(value.replace(' ', 'T')))) {
        return invalid(field.name, 'an ISO-8601 datetime');
      }
      return value;
    }
  }
}

/**
 * `checkValue` for one column, for encoders that check every cell of a million rows: the values a
 * mapped row holds (strings for text columns, safe integers, finite numbers, booleans) take a path
 * of their own with the column's errors made once; anything else goes through `checkValue`. Same
 * texts and errors either way.
 */
export function compileCheck(column: ColumnMeta): (value: unknown) => Checked {
  const field = column.field;
  const general = (value: unknown) => checkValue(column, value);
  switch (field.type) {
    case 'string':
    case 'text':
    case 'phone':
    case 'url':
    case 'reference':
    case 'email': {
      const { length } = field;
      const email = field.type === 'email';
      const nul = invalid(field.name, 'text without NUL characters');
      const tooLong = { error: `value too long for field '${field.name}' (max ${length})` };
      const notEmail = invalid(field.name, 'an email address');
      return (value) => {
        if (typeof value !== 'string' || value === '') return general(value);
        if (value.includes('\u0000')) return nul;
        if (length !== undefined && value.length > length && [...value].length > length) return tooLong;
        if (email && !EMAIL.test(value)) return notEmail;
        return value;
      };
    }
    case 'integer':
      // Nine digits or fewer: no range to check, and String() gives the text INTEGER accepts.
      return (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value > -1e9 && value < 1e9 ? String(value) : general(value));
    case 'decimal':
    case 'currency':
    case 'percent':
      return (value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return general(value);
        const s = String(value);
        return DECIMAL.test(s) ? s : general(value);
      };
    case 'boolean':
      return (value) => (value === true ? 't' : value === false ? 'f' : general(value));
    case 'date':
    case 'datetime':
      return general;
  }
}

function invalid(name: string, expected: string): { error: string } {
  return { error: `invalid value for field '${name}': expected ${expected}` };
}

function isRealDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

const SPECIAL = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return are escaped. */
export function escapeCopy(s: string): string {
  if (!SPECIAL.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

// array_in: an element needs quotes when empty, when it holds a delimiter, brace, quote, backslash
// or white space, or when it reads as NULL; \s covers more than Postgres' white space (quoting
// more is harmless).
const ARRAY_SPECIAL = /[{}",\\\s]/;
const ARRAY_QUOTED = /[\\"]/g;

/** A checked text (null = SQL NULL) as an element of an array literal, quoted only when it must be. */
export function arrayElement(text: string | null): string {
  if (text === null) return 'NULL';
  if (text === '' || ARRAY_SPECIAL.test(text) || (text.length === 4 && text.toLowerCase() === 'null')) return `"${text.replace(ARRAY_QUOTED, '\\$&')}"`;
  return text;
}

/**
 * Elements made by `arrayElement` as an array literal. Joined at once rather than appended one by
 * one: appending makes a rope of every piece, which the driver then flattens to measure and copy.
 */
export function arrayLiteralOf(elements: readonly string[]): string {
  return `{${elements.join(',')}}`;
}
