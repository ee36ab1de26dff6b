import pg from 'pg';
import { MarketoApiError, PostgresRateLimiter, type MarketoClient } from '../../src/marketo/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { clientFor, emulatorCalls, errorCount, startTestEmulator } from './support/emulator.js';

/** Two "workers" = two limiter instances with their own pools on one database and one key. */
describe('PostgresRateLimiter (shared by several workers)', () => {
  let db: TestDatabase;
  const pools: pg.Pool[] = [];
  const limiters: PostgresRateLimiter[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('marketo_limiter');
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });
  afterAll(() => db.drop());

  async function worker(key: string, limits: Record<string, number>, extra: { leaseMs?: number } = {}): Promise<PostgresRateLimiter> {
    const pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pools.push(pool);
    const limiter = await PostgresRateLimiter.create({ pool, key, limits, ...extra });
    limiters.push(limiter);
    return limiter;
  }

  it('keeps the window and the connection cap across two workers', async () => {
    const limits = { callsPerWindow: 8, windowMs: 400, maxConcurrent: 3, safetyMarginMs: 10 };
    const [a, b] = [await worker('window', limits), await worker('window', limits)];
    const log: { granted: number; released: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const call = async (l: PostgresRateLimiter) => {
      const release = await l.acquire({ endpoint: 'GET /x' });
      const entry = { granted: Date.now(), released: 0 };
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 15));
      inFlight--;
      entry.released = Date.now();
      log.push(entry);
      release();
    };
    await Promise.all(Array.from({ length: 24 }, (_, i) => call(i % 2 ? a : b)));
    expect(log).toHaveLength(24);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    const byGrant = [...log].sort((x, y) => x.granted - y.granted);
    for (let i = 0; i + 8 < byGrant.length; i++) {
      // a call is released (and its window entry written) before the call 8 places later may start
      expect(byGrant[i + 8]!.granted - byGrant[i]!.released).toBeGreaterThanOrEqual(400);
    }
    const shared = await a.sharedUsage();
    expect(shared.total).toBe(24);
    expect(shared.perEndpoint).toEqual({ 'GET /x': 24 });
  });

  it('shares the daily budget and refuses locally with 607', async () => {
    const limits = { dailyCalls: 5 };
    const [a, b] = [await worker('daily', limits), await worker('daily', limits)];
    for (let i = 0; i < 5; i++) (await (i % 2 ? a : b).acquire({ endpoint: 'GET /y' }))();
    const err = await b.acquire({ endpoint: 'GET /y' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MarketoApiError);
    expect(err).toMatchObject({ code: '607', source: 'local' });
    expect((err as MarketoApiError).classification.action).toBe('wait-for-quota-reset');
    expect(b.usage()).toMatchObject({ dailyCalls: 5, remainingToday: 0 });
  });

  it("frees a crashed worker's connection slot when its lease lapses", async () => {
    const limits = { maxConcurrent: 1 };
    const crashed = await worker('lease', limits, { leaseMs: 300 });
    const alive = await worker('lease', limits, { leaseMs: 300 });
    await crashed.acquire({ endpoint: 'GET /z' }); // never released
    const t0 = Date.now();
    (await alive.acquire({ endpoint: 'GET /z' }))();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('two clients sharing it against the emulator provoke no 606 or 615', async () => {
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits: { rateLimitCalls: 20, rateWindowMs: 500, maxConcurrent: 4 }, latencyMs: 10 });
    try {
      const limits = { callsPerWindow: 20, windowMs: 500, maxConcurrent: 4 };
      const clients: MarketoClient[] = [
        clientFor(emulator, { limiter: await worker('emulator', limits) }),
        clientFor(emulator, { limiter: await worker('emulator', limits) }),
      ];
      const results = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => clients[i % 2]!.leads.getById((i % 5) + 1)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const calls = await emulatorCalls(emulator);
      expect(errorCount(calls, '606')).toBe(0);
      expect(errorCount(calls, '615')).toBe(0);
      expect(calls.endpoints['GET /rest/v1/lead/:leadId.json']?.calls).toBe(80);
    } finally {
      await emulator.close();
    }
  });

  it('without sharing, two workers each within their own limits do provoke 606 (the check above can fail)', async () => {
    // Each worker sends its full window at once: 40 calls in the first window of an instance that takes 20.
    const emulator = await startTestEmulator({ seed: { leads: 5 }, limits: { rateLimitCalls: 20, rateWindowMs: 500, maxConcurrent: 100 } });
    try {
      const limits = { callsPerWindow: 20, windowMs: 500, maxConcurrent: 20 };
      const clients = [clientFor(emulator, { limits }), clientFor(emulator, { limits })];
      await Promise.allSettled(Array.from({ length: 40 }, (_, i) => clients[i % 2]!.leads.getById((i % 5) + 1)));
      expect(errorCount(await emulatorCalls(emulator), '606')).toBeGreaterThan(0);
    } finally {
      await emulator.close();
    }
  });
});
