import { InProcessRateLimiter } from '../../src/marketo/rate-limiter.js';
import { MarketoApiError } from '../../src/marketo/errors.js';
import { FakeClock, settle } from './support/fake-clock.js';

interface CallLog {
  granted: number;
  released: number;
}

/** Runs `n` calls through the limiter, each holding its permit for `holdMs` of fake time. */
async function burst(limiter: InProcessRateLimiter, clock: FakeClock, n: number, holdMs: number, maxSteps = 100_000) {
  const log: CallLog[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let done = 0;
  for (let i = 0; i < n; i++) {
    void (async () => {
      const release = await limiter.acquire({ endpoint: 'GET /rest/v1/leads.json' });
      const entry = { granted: clock.now(), released: -1 };
      log.push(entry);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await clock.sleep(holdMs);
      inFlight--;
      entry.released = clock.now();
      release();
      done++;
    })();
  }
  for (let step = 0; done < n; step++) {
    if (step > maxSteps) throw new Error('limiter made no progress');
    await clock.advance(5);
  }
  return { log, maxInFlight };
}

describe('InProcessRateLimiter', () => {
  it('keeps every window of callsPerWindow consecutive calls apart by a window after the earlier response', async () => {
    const clock = new FakeClock();
    const limiter = new InProcessRateLimiter({ callsPerWindow: 5, windowMs: 1_000, maxConcurrent: 3, safetyMarginMs: 50 }, clock);
    const { log, maxInFlight } = await burst(limiter, clock, 23, 40);
    expect(log).toHaveLength(23);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    const byGrant = [...log].sort((a, b) => a.granted - b.granted);
    for (let i = 0; i + 5 < byGrant.length; i++) {
      // the server counts arrivals; an arrival lies between grant and release, so this bound is what matters
      expect(byGrant[i + 5]!.granted - byGrant[i]!.released).toBeGreaterThanOrEqual(1_000 + 50);
    }
    // and it does not dawdle: 23 calls need 4 full windows after the first 5
    const span = byGrant[22]!.granted - byGrant[0]!.granted;
    expect(span).toBeLessThan(4 * (1_000 + 50 + 40) + 200);
    // no timer is left behind to keep a process alive
    expect(clock.pendingSleepers).toBe(0);
  });

  it('never lets more than maxConcurrent calls hold a permit', async () => {
    const clock = new FakeClock();
    const limiter = new InProcessRateLimiter({ callsPerWindow: 1_000, windowMs: 1_000, maxConcurrent: 4 }, clock);
    const { maxInFlight, log } = await burst(limiter, clock, 40, 100);
    expect(log).toHaveLength(40);
    expect(maxInFlight).toBe(4);
  });

  it('refuses locally with a 607 once the daily budget is spent, until the Chicago midnight', async () => {
    const clock = new FakeClock(Date.parse('2026-03-08T05:59:00Z')); // 23:59 CST on 7 March
    const limiter = new InProcessRateLimiter({ dailyCalls: 3 }, clock);
    for (let i = 0; i < 3; i++) (await limiter.acquire({ endpoint: 'a' }))();
    const refused = await limiter.acquire({ endpoint: 'a' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(MarketoApiError);
    const err = refused as MarketoApiError;
    expect(err.code).toBe('607');
    expect(err.source).toBe('local');
    expect(err.classification.action).toBe('wait-for-quota-reset');
    expect(err.classification.resetAt?.toISOString()).toBe('2026-03-08T06:00:00.000Z');
    expect(limiter.usage()).toMatchObject({ day: '2026-03-07', dailyCalls: 3, remainingToday: 0 });
    await clock.advance(60_000);
    (await limiter.acquire({ endpoint: 'a' }))();
    expect(limiter.usage()).toMatchObject({ day: '2026-03-08', dailyCalls: 1, remainingToday: 2 });
  });

  it('counts per endpoint, and identity calls only against concurrency', async () => {
    const clock = new FakeClock();
    const limiter = new InProcessRateLimiter({ callsPerWindow: 2, windowMs: 1_000, maxConcurrent: 1 }, clock);
    (await limiter.acquire({ endpoint: 'GET /x' }))();
    (await limiter.acquire({ endpoint: 'GET /y' }))();
    // the window is full, but an identity call must still go through
    const identity = await limiter.acquire({ endpoint: 'GET /identity/oauth/token', kind: 'identity' });
    // … and while it holds the only connection, an API call waits even once the window has room
    let granted = false;
    const pending = limiter.acquire({ endpoint: 'GET /x' }).then((r) => {
      granted = true;
      return r;
    });
    await clock.advance(5_000);
    expect(granted).toBe(false);
    identity();
    await settle();
    expect(granted).toBe(true);
    (await pending)();
    expect(limiter.usage()).toMatchObject({ dailyCalls: 3, identityCalls: 1, perEndpoint: { 'GET /x': 2, 'GET /y': 1 }, inFlight: 0 });
  });

  describe('placing finished calls with the requestId server time', () => {
    const SKEW = 5_000; // server clock ahead of ours
    const setup = () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 15, 12));
      const limiter = new InProcessRateLimiter({ callsPerWindow: 1, windowMs: 1_000, maxConcurrent: 5, safetyMarginMs: 0 }, clock);
      return { clock, limiter, t0: clock.now() };
    };
    /** When the next call is let through, in ms after t0. */
    const nextGrant = async (clock: FakeClock, limiter: InProcessRateLimiter, t0: number) => {
      let at: number | undefined;
      const p = limiter.acquire({ endpoint: 'e' }).then((r) => {
        at = clock.now() - t0;
        return r;
      });
      for (let i = 0; i < 400 && at === undefined; i++) await clock.advance(5);
      (await p)();
      return at;
    };

    it('frees the slot a window after the estimated arrival, not after a slow response', async () => {
      const { clock, limiter, t0 } = setup();
      // a fast call teaches the offset: sent at 0, stamped 1 by the server, answered at once
      (await limiter.acquire({ endpoint: 'e' }))({ serverTime: t0 + SKEW + 1 });
      await clock.advance(1_100);
      // a slow call: sent at 1100, handled at 1110 (server), answered at 1400
      const release = await limiter.acquire({ endpoint: 'e' });
      await clock.advance(300);
      release({ serverTime: t0 + SKEW + 1_110 });
      const at = await nextGrant(clock, limiter, t0);
      // arrival ≤ 1110 − 1 → free from 2109; by the response time it would be 2400
      expect(at).toBeGreaterThanOrEqual(2_109);
      expect(at).toBeLessThan(2_200);
    });

    it('falls back to the response time without a server time', async () => {
      const { clock, limiter, t0 } = setup();
      const release = await limiter.acquire({ endpoint: 'e' });
      await clock.advance(300);
      release();
      expect(await nextGrant(clock, limiter, t0)).toBeGreaterThanOrEqual(1_300);
    });

    it('never places a call before it was sent, even when the server clock steps back', async () => {
      const { clock, limiter, t0 } = setup();
      (await limiter.acquire({ endpoint: 'e' }))({ serverTime: t0 + SKEW });
      await clock.advance(1_000);
      const release = await limiter.acquire({ endpoint: 'e' });
      await clock.advance(300);
      // server clock went back an hour: the learned offset would put this call before its send
      release({ serverTime: t0 + SKEW + 1_000 - 3_600_000 });
      expect(await nextGrant(clock, limiter, t0)).toBeGreaterThanOrEqual(1_300 + 1_000);
    });
  });

  it('rejects bad limits naming the field', () => {
    expect(() => new InProcessRateLimiter({ callsPerWindow: 0 })).toThrow(/callsPerWindow/);
    expect(() => new InProcessRateLimiter({ windowMS: 5 } as never)).toThrow(/windowMS/);
  });
});
