import { CLASSIFICATION_TABLE, classify, classifyHttpStatus, quotaDay, quotaResetAt } from '../../src/marketo/classification.js';

/** Every code of marketo-api.md §4.2 and §4.3 (1076–1079 expanded). */
const DOCUMENTED_CODES = [
  '502', '500', '600', '601', '602', '603', '604', '605', '606', '607', '608', '609', '610', '611', '612', '613', '614', '615', '616',
  '701', '702', '703', '704', '709', '710', '711', '712', '713', '714', '718', '719',
  '1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008', '1009', '1010', '1011', '1012', '1013', '1014', '1015', '1016',
  '1017', '1018', '1019', '1020', '1021', '1022', '1025', '1026', '1027', '1028', '1029', '1035', '1036', '1037', '1042', '1048',
  '1049', '1076', '1077', '1078', '1079', '1080',
];

describe('classification table', () => {
  it('has exactly one row for every documented code', () => {
    const codes = CLASSIFICATION_TABLE.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of DOCUMENTED_CODES) expect(codes).toContain(code);
  });

  it('gives every row a reason, and a delay exactly when it says retry-after', () => {
    for (const e of CLASSIFICATION_TABLE) {
      expect(e.why.length).toBeGreaterThan(0);
      expect(e.delayMs !== undefined).toBe(e.action === 'retry-after');
    }
  });

  it.each([
    ['601', 'reauth'],
    ['602', 'reauth'],
    ['603', 'give-up'],
    ['604', 'retry'],
    ['606', 'retry-after'],
    ['607', 'wait-for-quota-reset'],
    ['608', 'retry'],
    ['611', 'retry'],
    ['615', 'retry-after'],
    ['713', 'retry'],
    ['1003', 'give-up'],
    ['1004', 'give-up'],
    ['1016', 'retry-after'],
  ] as const)('%s → %s', (code, action) => {
    expect(classify(code).action).toBe(action);
  });

  it('waits one rate window after a 606: 20 s, or the window the caller says its instance has', () => {
    expect(classify('606').delayMs).toBe(20_000);
    expect(classify('606', '', new Date(), { rateWindowMs: 2_000 }).delayMs).toBe(2_000);
    expect(classify('615', '', new Date(), { rateWindowMs: 2_000 }).delayMs).toBe(classify('615').delayMs);
  });

  it('tells the three meanings of 1029 apart by message', () => {
    const now = new Date('2026-07-01T15:00:00Z');
    expect(classify('1029', 'Too many jobs in queue', now)).toMatchObject({ action: 'retry-after' });
    const quota = classify('1029', 'Export daily quota 500MB exceeded.', now);
    expect(quota.action).toBe('wait-for-quota-reset');
    expect(quota.resetAt?.toISOString()).toBe('2026-07-02T05:00:00.000Z');
    expect(classify('1029', 'Job already queued', now).action).toBe('give-up');
  });

  it('turns a 607 into a wait until the next Chicago midnight', () => {
    const now = new Date('2026-01-15T20:00:00Z');
    const c = classify('607', 'Daily quota reached', now);
    expect(c.action).toBe('wait-for-quota-reset');
    expect(c.resetAt?.toISOString()).toBe('2026-01-16T06:00:00.000Z');
    expect(c.delayMs).toBe(10 * 3_600_000);
  });

  it('gives up on unknown codes and retries unknown 5xx', () => {
    expect(classify('9999').action).toBe('give-up');
    expect(classify('503').action).toBe('retry');
  });

  it('classifies HTTP statuses without envelope', () => {
    expect(classifyHttpStatus(413)).toMatchObject({ code: 'HTTP_413', classification: { action: 'give-up' } });
    expect(classifyHttpStatus(414)).toMatchObject({ code: 'HTTP_414', classification: { action: 'give-up' } });
    expect(classifyHttpStatus(503)).toMatchObject({ code: 'HTTP_5XX', classification: { action: 'retry' } });
    expect(classifyHttpStatus(401)).toMatchObject({ code: 'HTTP_401', classification: { action: 'give-up' } });
    expect(classifyHttpStatus(404)).toMatchObject({ code: 'HTTP_4XX', classification: { action: 'give-up' } });
  });
});

describe('quotaResetAt (00:00 America/Chicago, DST-correct)', () => {
  it.each([
    // winter (CST, UTC-6)
    ['2026-01-15T12:00:00Z', '2026-01-16T06:00:00.000Z'],
    // the evening before DST starts: midnight on 8 March is still CST
    ['2026-03-07T12:00:00Z', '2026-03-08T06:00:00.000Z'],
    // after the spring-forward (CDT, UTC-5): the day is 23 h long
    ['2026-03-08T12:00:00Z', '2026-03-09T05:00:00.000Z'],
    // summer
    ['2026-07-01T04:59:59Z', '2026-07-01T05:00:00.000Z'],
    // the day DST ends (1 Nov 2026) starts in CDT and lasts 25 h
    ['2026-11-01T05:30:00Z', '2026-11-02T06:00:00.000Z'],
    ['2026-10-31T12:00:00Z', '2026-11-01T05:00:00.000Z'],
    // 23:30 CST on 1 Nov
    ['2026-11-02T05:30:00Z', '2026-11-02T06:00:00.000Z'],
    // exactly at midnight: the next one, not now
    ['2026-11-02T06:00:00Z', '2026-11-03T06:00:00.000Z'],
    ['2026-11-02T05:59:59.999Z', '2026-11-02T06:00:00.000Z'],
    // year end
    ['2026-12-31T23:00:00Z', '2027-01-01T06:00:00.000Z'],
  ])('%s → %s', (now, expected) => {
    expect(quotaResetAt(new Date(now)).toISOString()).toBe(expected);
  });

  it('names the Chicago calendar day', () => {
    expect(quotaDay(new Date('2026-11-02T05:59:59Z'))).toBe('2026-11-01');
    expect(quotaDay(new Date('2026-11-02T06:00:00Z'))).toBe('2026-11-02');
    expect(quotaDay(new Date('2026-07-01T04:59:59Z'))).toBe('2026-06-30');
  });
});
