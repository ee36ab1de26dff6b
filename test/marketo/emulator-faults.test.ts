import { MarketoApiError, quotaResetAt, type MarketoClient } from '../../src/marketo/index.js';
import { clientFor, emulatorCalls, errorCount, startTestEmulator, type RunningEmulator } from './support/emulator.js';
import { failureOf } from './support/failure-of.js';

async function admin(emulator: RunningEmulator, path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${emulator.url}/_emulator/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

describe('error classes end to end (emulator faults)', () => {
  let emulator: RunningEmulator;
  let client: MarketoClient;

  beforeAll(async () => {
    emulator = await startTestEmulator({ seed: { leads: 5 } });
    client = clientFor(emulator);
    await client.leads.getById(1); // holds a token from here on
  });
  afterAll(() => emulator.close());

  it.each(['601', '602'])('%s: renews the token and replays, the caller sees success', async (code) => {
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', code, count: 1 });
    const before = client.usage().tokenFetches;
    expect(await client.leads.getById(1)).toMatchObject({ id: 1 });
    expect(client.usage().tokenFetches).toBe(before + 1);
  });

  it.each([
    ['604', 'retry'],
    ['606', 'retry-after'],
    ['608', 'retry'],
    ['611', 'retry'],
    ['614', 'retry'],
    ['615', 'retry-after'],
    ['713', 'retry'],
  ] as const)('%s → %s, thrown with requestId and endpoint', async (code, action) => {
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', code, count: 1 });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code, source: 'envelope', endpoint: 'GET /rest/v1/lead/{id}.json' });
    expect(err.requestId).toMatch(/^[0-9a-f]+#[0-9a-f]+$/);
    expect(err.classification.action).toBe(action);
    // the fault is spent: the next call goes through
    expect(await client.leads.getById(1)).toMatchObject({ id: 1 });
  });

  it('607 → wait until the next 00:00 America/Chicago', async () => {
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', code: '607', count: 1 });
    const before = Date.now();
    const err = await failureOf(client.leads.getById(1));
    expect(err.code).toBe('607');
    expect(err.classification.action).toBe('wait-for-quota-reset');
    expect([quotaResetAt(new Date(before)).getTime(), quotaResetAt(new Date()).getTime()]).toContain(err.classification.resetAt!.getTime());
  });

  it.each([500, 502, 503, 504])('HTTP %s from the gateway → HTTP_5XX, retry', async (httpStatus) => {
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', httpStatus, count: 1 });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: 'HTTP_5XX', httpStatus, source: 'http' });
    expect(err.classification.action).toBe('retry');
  });

  it('a read reset once is sent again at once; reset twice → NETWORK, retry, and the permit is given back', async () => {
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', reset: true, count: 1 });
    expect(await client.leads.getById(1)).toMatchObject({ id: 1 });
    await admin(emulator, 'faults', { path: '/rest/v1/lead/*', reset: true, count: 2 });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: 'NETWORK', source: 'network' });
    expect(err.classification.action).toBe('retry');
    expect(client.usage().inFlight).toBe(0);
  });

  it('tokens expired or revoked mid-run are renewed transparently', async () => {
    await client.leads.getById(1);
    const before = client.usage().tokenFetches;
    await admin(emulator, 'tokens/expire');
    expect(await client.leads.getById(2)).toMatchObject({ id: 2 });
    await admin(emulator, 'tokens/revoke');
    expect(await client.leads.getById(3)).toMatchObject({ id: 3 });
    expect(client.usage().tokenFetches).toBe(before + 2);
    const calls = await emulatorCalls(emulator);
    expect(errorCount(calls, '602')).toBeGreaterThanOrEqual(1);
    expect(errorCount(calls, '601')).toBeGreaterThanOrEqual(1);
  });
});

describe('token lifetime (short TTL)', () => {
  it('keeps working across several token lifetimes, renewing ahead of expiry or after a 602', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 3 }, tokenTtlSeconds: 1 });
    try {
      // renewal margin larger than the lifetime: the token is used to its end and a 602 triggers renewal
      const late = clientFor(emulator, { tokenRenewBeforeMs: 60_000 });
      // margin inside the lifetime: renewed before the server would say 602
      const early = clientFor(emulator, { tokenRenewBeforeMs: 400 });
      for (let i = 0; i < 5; i++) {
        expect(await late.leads.getById(1)).toMatchObject({ id: 1 });
        expect(await early.leads.getById(2)).toMatchObject({ id: 2 });
        await new Promise((r) => setTimeout(r, 450));
      }
      expect(late.usage().tokenFetches).toBeGreaterThanOrEqual(2);
      expect(early.usage().tokenFetches).toBeGreaterThanOrEqual(2);
    } finally {
      await emulator.close();
    }
  });

  it('bad credentials are a give-up HTTP_401', async () => {
    const emulator = await startTestEmulator();
    try {
      const client = clientFor(emulator, { clientSecret: 'wrong' });
      const err = await failureOf(client.leads.getById(1));
      expect(err).toMatchObject({ code: 'HTTP_401', httpStatus: 401 });
      expect(err.classification.action).toBe('give-up');
    } finally {
      await emulator.close();
    }
  });
});

describe('limits', () => {
  const limits = { rateLimitCalls: 20, rateWindowMs: 500, maxConcurrent: 4 };
  const clientLimits = { callsPerWindow: 20, windowMs: 500, maxConcurrent: 4 };

  async function burst(client: MarketoClient, n: number): Promise<{ errors: MarketoApiError[]; ms: number }> {
    const t0 = Date.now();
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => client.leads.getById((i % 5) + 1)));
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as MarketoApiError);
    return { errors, ms: Date.now() - t0 };
  }

  it('a burst through the limiter provokes no 606 or 615', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits, latencyMs: 15 });
    try {
      const client = clientFor(emulator, { limits: clientLimits });
      const { errors, ms } = await burst(client, 100);
      expect(errors.map((e) => e.code)).toEqual([]);
      const calls = await emulatorCalls(emulator);
      expect(errorCount(calls, '606')).toBe(0);
      expect(errorCount(calls, '615')).toBe(0);
      expect(calls.endpoints['GET /rest/v1/lead/:leadId.json']?.calls).toBe(100);
      // 100 calls at 20 per 500 ms need at least four more windows after the first
      expect(ms).toBeGreaterThanOrEqual(4 * 500);
    } finally {
      await emulator.close();
    }
  });

  it('the same burst without the rate limit does provoke 606 (the check above can fail)', async () => {
    // connections are plentiful here, so all 100 calls land in the first window of an instance that takes 20
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits: { ...limits, maxConcurrent: 1_000 }, latencyMs: 15 });
    try {
      const client = clientFor(emulator, { limits: { callsPerWindow: 10_000, windowMs: 500, maxConcurrent: 1_000 } });
      const { errors } = await burst(client, 100);
      const calls = await emulatorCalls(emulator);
      expect(errorCount(calls, '606')).toBeGreaterThan(0);
      expect(errors.length).toBe(errorCount(calls, '606'));
      for (const e of errors) {
        expect(e.code).toBe('606');
        // a 606 asks to wait one window of this (scaled-down) instance, as configured on the client
        expect(e.classification).toMatchObject({ action: 'retry-after', delayMs: 500 });
      }
    } finally {
      await emulator.close();
    }
  });

  it('the same burst without the concurrency cap does provoke 615', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits: { ...limits, rateLimitCalls: 10_000 }, latencyMs: 15 });
    try {
      const client = clientFor(emulator, { limits: { callsPerWindow: 10_000, windowMs: 500, maxConcurrent: 50 } });
      const { errors } = await burst(client, 100);
      expect(errorCount(await emulatorCalls(emulator), '615')).toBeGreaterThan(0);
      expect(errors.some((e) => e.code === '615' && e.classification.action === 'retry-after')).toBe(true);
    } finally {
      await emulator.close();
    }
  });

  it('refuses locally once the daily budget is spent; the emulator never sees the call', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 5 } });
    try {
      const client = clientFor(emulator, { limits: { dailyCalls: 3 } });
      for (let i = 1; i <= 3; i++) await client.leads.getById(i);
      const err = await failureOf(client.leads.getById(4));
      expect(err).toMatchObject({ code: '607', source: 'local' });
      expect(err.classification.action).toBe('wait-for-quota-reset');
      expect((await emulatorCalls(emulator)).endpoints['GET /rest/v1/lead/:leadId.json']?.calls).toBe(3);
      expect(client.usage()).toMatchObject({ dailyCalls: 3, remainingToday: 0 });
    } finally {
      await emulator.close();
    }
  });

  it("maps Marketo's own 607 when the instance quota is lower than the local budget", async () => {
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits: { dailyQuota: 2 } });
    try {
      const client = clientFor(emulator);
      await client.leads.getById(1);
      await client.leads.getById(2);
      const err = await failureOf(client.leads.getById(3));
      expect(err).toMatchObject({ code: '607', source: 'envelope' });
      expect(err.classification.resetAt).toEqual(expect.any(Date));
    } finally {
      await emulator.close();
    }
  });

  it('HTTP 413 for an oversized body is a give-up', async () => {
    const emulator = await startTestEmulator({ limits: { maxBodyBytes: 2_000 } });
    try {
      const client = clientFor(emulator);
      const input = Array.from({ length: 50 }, (_, i) => ({ email: `big.${i}@example.com`, address: 'x'.repeat(100) }));
      const err = await failureOf(client.leads.sync({ input }));
      expect(err).toMatchObject({ code: 'HTTP_413', httpStatus: 413 });
      expect(err.classification.action).toBe('give-up');
    } finally {
      await emulator.close();
    }
  });

  it('HTTP 414 is what the _method=GET switch prevents', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 3 } });
    try {
      const values = Array.from({ length: 300 }, (_, i) => `someone.with.a.long.name.${i}@example-domain.com`);
      const untunnelled = clientFor(emulator, { maxUrlLength: 1_000_000 });
      const err = await failureOf(untunnelled.leads.getByFilter({ filterType: 'email', filterValues: values }));
      expect(err).toMatchObject({ code: 'HTTP_414', httpStatus: 414 });
      const tunnelled = clientFor(emulator);
      expect((await tunnelled.leads.getByFilter({ filterType: 'email', filterValues: values })).items).toEqual([]);
    } finally {
      await emulator.close();
    }
  });
});
