import pg from 'pg';
import type { CrmField, CrmFieldType } from '../../src/crm/connector.js';
import { arrayElement, arrayLiteralOf, checkValue, compileCheck } from '../../src/crm/postgres/copy-encoding.js';
import type { ColumnMeta } from '../../src/crm/postgres/introspect.js';
import type { MarketoField } from '../../src/mapping/marketo-schema.js';
import { compileMarketoToCrmValue, marketoToCrm, TransformError, type TransformOptions } from '../../src/mapping/transforms.js';

// The co-located person batch converts and checks every cell with compiled functions that take
// their own path for the bulk export's strings; the general path's `marketoToCrm` and `checkValue`
// must give exactly the same values and errors, for every CRM type, whatever the input.

const TYPES: CrmFieldType[] = ['string', 'text', 'email', 'phone', 'url', 'integer', 'decimal', 'currency', 'percent', 'boolean', 'date', 'datetime', 'reference'];

const STRINGS = [
  '', 'null', 'NULL', ' ', '  padded  ', 'plain', 'Zoë Ünïcode', '日本語', '😀 emoji', 'a\u0000b', 'tab\there', 'line\nbreak',
  'quote"d', 'back\\slash', 'a,b', '{braces}', 'jane.doe@example.com', ' jane@example.com ', 'nobody', 'a@b', 'a@b.c', 'ü@example.com',
  '0', '-0', '+5', '007', '12', '-12', '12.0', '12.000', '12.', '+12.00', '12.5', '.5', '5.', '1e3', '-1.5E-3', '1e', 'e3', '0x10', '1_000',
  '2147483647', '2147483648', '-2147483649', '9007199254740991', '9007199254740993', '99999999999', '999999999', '1000000000', '-999999999',
  'true', 'false', 'TRUE', ' t ', 'f', 'yes', 'No', 'y', 'n', '1', 'maybe',
  '2024-02-29', '2023-02-29', '2024-13-01', '2024-01-01T00:00:00Z', '2024-01-01T10:00:00Z', '2024-01-01 12:43:04', '2020-08-30T07:00:58Z',
  '2013-09-26T06:56:35+0000', '2017-07-27T01:38:33Z+0000', '2015-05-07T11:47:30-08:00', '2026-11-28T10:46:31.123456+00:00', 'notadate',
  'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(255), '😀'.repeat(200),
];
const OTHERS: unknown[] = [null, undefined, 0, -0, 1, 12.5, -7, 2 ** 53, 1e21, NaN, Infinity, true, false, {}, [], new Date(0)];

function randomStrings(n: number): string[] {
  // A small alphabet of the characters each family's patterns turn on, so random strings hit them.
  const alphabet = ['0', '1', '9', '-', '+', '.', 'e', 'E', ' ', 't', 'r', 'u', 'f', 'a', 'l', 's', '@', 'x', 'T', ':', 'Z', '\u0000', '"', ',', 'é'];
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  return Array.from({ length: n }, () => Array.from({ length: next() % 9 }, () => alphabet[next() % alphabet.length]).join(''));
}

/** Types the person encoder sends without quoting (activities/bootstrap-person-encoder.ts). */
const PLAIN: CrmFieldType[] = ['integer', 'decimal', 'currency', 'percent', 'boolean', 'date'];

const field = (type: CrmFieldType, extra: Partial<CrmField> = {}): CrmField => ({ name: `c_${type}`, type, nullable: true, updateable: true, unique: false, custom: false, ...extra });
const marketo: MarketoField = { name: 'm', dataType: 'string', updateable: true };

describe('compiled transforms give what marketoToCrm gives', () => {
  const variants: [string, Partial<CrmField>, TransformOptions][] = [
    ['plain', {}, {}],
    ['bulk CSV', {}, { csvNulls: true }],
    ['length 8, CSV', { length: 8 }, { csvNulls: true }],
    ['length 8, truncated', { length: 8 }, { truncate: true, csvNulls: true }],
    ['not nullable', { nullable: false }, { csvNulls: true }],
    ['picklist', {}, { csvNulls: true, valueMap: { Yes: 'true', null: 'mapped', plain: 'Plain' } }],
  ];
  const inputs = [...STRINGS, ...randomStrings(2000), ...OTHERS];
  test.each(TYPES)('%s', (type) => {
    // Differences are collected and compared once (an expect per value made this test slow).
    const differences: unknown[] = [];
    let compared = 0;
    for (const [variant, extra, options] of variants) {
      const to = field(type, extra);
      const compiled = compileMarketoToCrmValue(marketo, to, options);
      for (const input of inputs) {
        const general = marketoToCrm(input, marketo, to, options);
        const out = compiled(input);
        const same = general.ok ? Object.is(out, general.value) : out instanceof TransformError && out.error === general.error;
        if (!same) differences.push({ variant, input, general, out });
        compared++;
      }
    }
    expect(differences).toEqual([]);
    expect(compared).toBe(variants.length * inputs.length);
  });
});

describe('compiled column checks give what checkValue gives', () => {
  const columns = (type: CrmFieldType): ColumnMeta[] => {
    const base = type === 'integer' ? ['int2', 'int4', 'int8'] : ['x'];
    const shapes: Partial<CrmField>[] = [{}, { nullable: false }, ...(['string', 'text', 'email', 'phone', 'url', 'reference'].includes(type) ? [{ length: 8 }] : [])];
    return base.flatMap((baseType) => shapes.map((extra) => ({ field: field(type, extra), sqlType: type, baseType })));
  };
  const numbers = [0, -0, 1, -1, 7, 12.5, -0.001, 999_999_999, 1e9, -1e9, -999_999_999, 32767, 32768, -32769, 2147483647, 2147483648, 2 ** 53, 2 ** 63, 1e21, 1e-7, NaN, Infinity, -Infinity];
  const inputs = [...STRINGS, ...randomStrings(2000), ...numbers, ...OTHERS];
  test.each(TYPES)('%s', (type) => {
    const differences: unknown[] = [];
    for (const column of columns(type)) {
      const compiled = compileCheck(column);
      for (const input of inputs) {
        const general = checkValue(column, input);
        const out = compiled(input);
        const same = typeof general === 'object' && general !== null ? typeof out === 'object' && out !== null && out.error === general.error : out === general;
        if (!same) differences.push({ column: column.field, baseType: column.baseType, input, general, out });
        // The encoder sends these types' texts unquoted: none may need quotes.
        if (PLAIN.includes(type) && typeof out === 'string' && arrayElement(out) !== out) differences.push({ unquoted: out });
      }
    }
    expect(differences).toEqual([]);
  });
});

test('array elements quoted only where needed read back as the same texts and NULLs in Postgres', async () => {
  const texts: (string | null)[] = [...STRINGS.filter((s) => !s.includes('\u0000')), 'null', 'Null', ' lead', 'trail ', '\u000b', '\f', 'NULLS', null, 'a"b\\"c', '{a,b}'];
  const elements = texts.map(arrayElement);
  // Plain texts go unquoted (what saves the copy per cell).
  expect(arrayElement('Smith')).toBe('Smith');
  expect(arrayElement('NULL')).toBe('"NULL"');
  expect(arrayElement('')).toBe('""');
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [arrayLiteralOf(elements)]);
    expect(rows[0]!.a).toEqual(texts);
  } finally {
    await client.end();
  }
});
