import type { CrmField, CrmFieldType } from '../../src/crm/connector.js';
import type { MarketoDataType, MarketoField } from '../../src/mapping/marketo-schema.js';
import { crmToMarketo, marketoToCrm, parseDateTime } from '../../src/mapping/transforms.js';
import { crmTypeForMarketo } from '../../src/mapping/types.js';

const m = (dataType: MarketoDataType, length?: number): MarketoField => ({ name: `m_${dataType}`, dataType, updateable: true, ...(length ? { length } : {}) });
const c = (type: CrmFieldType, length?: number): CrmField => ({ name: `c_${type}`, type, nullable: true, updateable: true, unique: false, custom: false, ...(length ? { length } : {}) });

/** Marketo value as REST sends it, and the same value as Marketo would send it back after the round trip. */
const RAW_CASES: [MarketoDataType, unknown, unknown?][] = [
  ['string', 'Zoë Ünïcode'],
  ['text', 'line one\nline two\ttabbed'],
  ['email', 'jane.doe@example.com'],
  ['phone', '+1 (555) 010-2030'],
  ['url', 'https://example.com/a?b=c'],
  ['picklist', 'Closed Won'],
  ['integer', 2147483647],
  ['score', -12],
  ['float', 3.25],
  ['currency', 1234567.89],
  ['percent', 12.5],
  ['boolean', true],
  ['boolean', false],
  ['date', '2024-02-29'],
  ['datetime', '2020-08-30T07:00:58Z'],
  ['datetime', '2013-09-26T06:56:35+0000', '2013-09-26T06:56:35Z'],
  ['datetime', '2017-07-27T01:38:33Z+0000', '2017-07-27T01:38:33Z'],
  ['datetime', '2015-05-07T11:47:30-08:00', '2015-05-07T19:47:30Z'],
  ['reference', 1044, '1044'],
];
// Fixed-length rows: jest hands a callback to a test whose row is shorter than its parameter list.
const CASES = RAW_CASES.map(([t, v, back]) => [t, v, back === undefined ? v : back] as const);

describe('value transforms round-trip every Marketo data type', () => {
  test.each(CASES)('%s %p', (dataType, value, back) => {
    const mf = m(dataType);
    const cf = c(crmTypeForMarketo(dataType));
    const toCrm = marketoToCrm(value, mf, cf);
    expect(toCrm.ok).toBe(true);
    if (!toCrm.ok) return;
    const toMarketo = crmToMarketo(toCrm.value, cf, mf);
    expect(toMarketo).toEqual({ ok: true, value: back });
  });

  test('nulls, empty strings and bulk-file "null" literals become null', () => {
    expect(marketoToCrm(null, m('string'), c('string'))).toEqual({ ok: true, value: null });
    expect(marketoToCrm('', m('integer'), c('integer'))).toEqual({ ok: true, value: null });
    expect(marketoToCrm('null', m('datetime'), c('datetime'), { csvNulls: true })).toEqual({ ok: true, value: null });
    expect(marketoToCrm('null', m('string'), c('string'))).toEqual({ ok: true, value: 'null' });
  });

  test('bulk CSV strings parse to typed values', () => {
    expect(marketoToCrm('42', m('integer'), c('integer'))).toEqual({ ok: true, value: 42 });
    expect(marketoToCrm('1.5', m('currency'), c('currency'))).toEqual({ ok: true, value: 1.5 });
    expect(marketoToCrm('true', m('boolean'), c('boolean'))).toEqual({ ok: true, value: true });
    expect(marketoToCrm('0', m('boolean'), c('boolean'))).toEqual({ ok: true, value: false });
  });

  test('datetimes go to Marketo with per-second resolution, to the CRM with milliseconds', () => {
    const crmValue = '2026-11-28T10:46:31.123456+00:00';
    expect(crmToMarketo(crmValue, c('datetime'), m('datetime'))).toEqual({ ok: true, value: '2026-11-28T10:46:31Z' });
    expect(marketoToCrm('2026-11-28T10:46:31.5Z', m('datetime'), c('datetime'))).toEqual({ ok: true, value: '2026-11-28T10:46:31.500Z' });
    expect(parseDateTime('2014-11-13 12:43:04')).toBe(Date.UTC(2014, 10, 13, 12, 43, 4));
    expect(marketoToCrm('2024-02-30', m('date'), c('date'))).toMatchObject({ ok: false });
    expect(marketoToCrm('yesterday', m('datetime'), c('datetime'))).toMatchObject({ ok: false });
  });

  test('a date widens into a datetime at midnight UTC; a datetime with a time is not a date', () => {
    expect(marketoToCrm('2024-03-01', m('date'), c('datetime'))).toEqual({ ok: true, value: '2024-03-01T00:00:00Z' });
    expect(crmToMarketo('2024-03-01T10:00:00Z', c('datetime'), m('date'))).toMatchObject({ ok: false });
  });

  test('bad values fail naming the field and never echoing the value', () => {
    const cases: [unknown, MarketoField, CrmField][] = [
      ['secret-not-a-number', m('integer'), c('integer')],
      ['secret@', m('email'), c('email')],
      [1.5, m('float'), c('integer')],
      ['secret-maybe', m('boolean'), c('boolean')],
    ];
    for (const [value, from, to] of cases) {
      const r = marketoToCrm(value, from, to);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toContain(`'${to.name}'`);
        expect(r.error).not.toContain('secret');
      }
    }
    expect(crmToMarketo('zoë@exämple.com', c('email'), m('email'))).toMatchObject({ ok: false });
  });

  test('text lengths: refused unless truncation is allowed, counted in characters', () => {
    expect(marketoToCrm('abcdef', m('string'), c('string', 5))).toMatchObject({ ok: false, error: expect.stringContaining('max 5') });
    expect(marketoToCrm('abcdef', m('string'), c('string', 5), { truncate: true })).toEqual({ ok: true, value: 'abcde' });
    expect(marketoToCrm('ééééé', m('string'), c('string', 5))).toEqual({ ok: true, value: 'ééééé' });
    expect(crmToMarketo('x'.repeat(256), c('text'), m('string'))).toMatchObject({ ok: false });
  });

  test('picklists translate through the value map in both directions', () => {
    const valueMap = { 'Closed Won': 'WON', 'Closed Lost': 'LOST' };
    expect(marketoToCrm('Closed Won', m('picklist'), c('string'), { valueMap })).toEqual({ ok: true, value: 'WON' });
    expect(crmToMarketo('LOST', c('string'), m('picklist'), { valueMap })).toEqual({ ok: true, value: 'Closed Lost' });
    expect(marketoToCrm('Open', m('picklist'), c('string'), { valueMap })).toEqual({ ok: true, value: 'Open' });
  });
});
