import { formatMarketoDateTime, parseMarketoDateTime } from '../../src/marketo/dates.js';

describe('Marketo datetimes', () => {
  it.each([
    ['2020-08-30T07:00:58Z', '2020-08-30T07:00:58.000Z'],
    ['2013-09-26T06:56:35+0000', '2013-09-26T06:56:35.000Z'],
    ['2013-09-26T06:56:35+00:00', '2013-09-26T06:56:35.000Z'],
    ['2017-07-27T01:38:33Z+0000', '2017-07-27T01:38:33.000Z'],
    ['2015-05-07T11:47:30-08:00', '2015-05-07T19:47:30.000Z'],
    ['2014-10-06T13:22:17-0800', '2014-10-06T21:22:17.000Z'],
  ])('parses %s', (input, iso) => {
    expect(parseMarketoDateTime(input).toISOString()).toBe(iso);
  });

  it.each(['2014-11-13 12:43:04', '2020-08-30', '2021-02-30T00:00:00Z', 'yesterday', '2020-08-30T07:00:58'])('rejects %s', (input) => {
    expect(() => parseMarketoDateTime(input)).toThrow(/Marketo datetime|calendar date/);
  });

  it('formats per second in UTC', () => {
    expect(formatMarketoDateTime(new Date('2026-03-08T07:59:59.999Z'))).toBe('2026-03-08T07:59:59Z');
  });
});
