import { z } from 'zod';
import { ArrivalEstimator } from './arrival-estimator.js';
import { classify, quotaDay } from './classification.js';
import { systemClock, type Clock } from './clock.js';
import { MarketoApiError } from './errors.js';

/**
 * Marketo's limits belong to the subscription, so the limiter is an interface: the in-process one below
 * serves one worker; a shared (e.g. Postgres-backed) one can replace it for several workers.
 */
export interface RateLimiter {
  /** Resolves when the call may be sent; the returned function must be called once the response is in. */
  acquire(request: AcquireRequest): Promise<Release>;
  usage(): LimiterUsage;
}

/** Ends a call. Pass what is known about the response so a finished call leaves the window as early as is safe. */
export type Release = (info?: ReleaseInfo) => void;

export interface ReleaseInfo {
  /**
   * Server clock (epoch ms) when Marketo handled the call: the right half of its requestId
   * (`"10a88#1743e2b384b"` → 0x1743e2b384b). Lets the limiter place the call in the server's window.
   */
  serverTime?: number;
  /** When the response (headers) arrived, if earlier than the release (streamed downloads). */
  respondedAt?: number;
}

export interface AcquireRequest {
  /** A stable label such as `GET /rest/v1/leads.json` (ids replaced), used for per-endpoint counts. */
  endpoint: string;
  /** Identity calls do not count against rate or quota (Marketo excludes them) but still occupy a connection. */
  kind?: 'api' | 'identity';
}

export interface LimiterUsage {
  /** Chicago calendar day the daily counters belong to. */
  day: string;
  dailyCalls: number;
  dailyLimit: number;
  remainingToday: number;
  perEndpoint: Record<string, number>;
  identityCalls: number;
  /** Calls counted in the current sliding window (in flight ones included). */
  windowCalls: number;
  inFlight: number;
  waiting: number;
}

export const limitsSchema = z
  .object({
    callsPerWindow: z.number().int().positive().default(100),
    windowMs: z.number().int().positive().default(20_000),
    maxConcurrent: z.number().int().positive().default(10),
    dailyCalls: z.number().int().positive().default(50_000),
    /** Extra spacing on top of the window, for timer lateness and clock differences; default 1 % of the window (≥ 20 ms). */
    safetyMarginMs: z.number().int().nonnegative().optional(),
  })
  .strict();
export type LimitsInput = z.input<typeof limitsSchema>;
export type Limits = z.output<typeof limitsSchema>;

interface WindowEntry {
  /** When the call was let through (it cannot reach Marketo earlier). */
  start: number;
  /**
   * Latest moment Marketo can have counted the call, on our clock; undefined while in flight (an in-flight
   * call always counts). The call leaves the window `windowMs + margin` after it.
   */
  end?: number;
}

/**
 * Sliding window + semaphore. Marketo counts a call when it arrives, which is after we send it and before
 * its response, so a finished call stays in the window until `windowMs + margin` after that arrival's
 * latest possible time on our clock — never judged by its send time, so latency and jitter cannot make
 * the server see more than `callsPerWindow` calls in a window.
 *
 * The latest arrival time is the response time, tightened with Marketo's requestId timestamp (see
 * ArrivalEstimator).
 */
export class InProcessRateLimiter implements RateLimiter {
  private readonly limits: Limits;
  private readonly marginMs: number;
  private readonly clock: Clock;
  private readonly entries: WindowEntry[] = [];
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private rateGate: Promise<void> = Promise.resolve();
  private waitingCount = 0;
  private releaseSignal: { promise: Promise<void>; resolve: () => void } = deferred();
  private day: string;
  private dailyCalls = 0;
  private identityCalls = 0;
  private perEndpoint: Record<string, number> = {};
  private readonly arrivals = new ArrivalEstimator();

  constructor(limits: LimitsInput = {}, clock: Clock = systemClock) {
    this.limits = limitsSchema.parse(limits);
    this.marginMs = this.limits.safetyMarginMs ?? Math.max(20, Math.round(this.limits.windowMs / 100));
    this.clock = clock;
    this.day = quotaDay(new Date(clock.now()));
  }

  async acquire(request: AcquireRequest): Promise<Release> {
    const kind = request.kind ?? 'api';
    if (kind === 'api') this.refuseIfQuotaSpent(request.endpoint);
    this.waitingCount++;
    try {
      await this.takeSlot();
      if (kind === 'identity') {
        this.identityCalls++;
        return this.releaser();
      }
      let entry: WindowEntry;
      try {
        entry = await this.passRateGate(request.endpoint);
      } catch (err) {
        this.freeSlot();
        throw err;
      }
      return this.releaser(entry);
    } finally {
      this.waitingCount--;
    }
  }

  usage(): LimiterUsage {
    const now = this.clock.now();
    this.rollDay(now);
    this.prune(now);
    return {
      day: this.day,
      dailyCalls: this.dailyCalls,
      dailyLimit: this.limits.dailyCalls,
      remainingToday: Math.max(0, this.limits.dailyCalls - this.dailyCalls),
      perEndpoint: { ...this.perEndpoint },
      identityCalls: this.identityCalls,
      windowCalls: this.entries.length,
      inFlight: this.inFlight,
      waiting: this.waitingCount,
    };
  }

  private refuseIfQuotaSpent(endpoint: string): void {
    const now = this.clock.now();
    this.rollDay(now);
    if (this.dailyCalls >= this.limits.dailyCalls) {
      throw new MarketoApiError({
        code: '607',
        message: `Daily quota reached (local budget of ${this.limits.dailyCalls} calls for ${this.day} spent)`,
        endpoint,
        source: 'local',
        classification: classify('607', '', new Date(now)),
      });
    }
  }

  private rollDay(now: number): void {
    const day = quotaDay(new Date(now));
    if (day !== this.day) {
      this.day = day;
      this.dailyCalls = 0;
      this.identityCalls = 0;
      this.perEndpoint = {};
    }
  }

  private async takeSlot(): Promise<void> {
    if (this.inFlight < this.limits.maxConcurrent && this.slotWaiters.length === 0) {
      this.inFlight++;
      return;
    }
    // The slot is handed over by freeSlot(), so inFlight never drops below the number of holders.
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private freeSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.inFlight--;
  }

  /** Serialised so waiters pass in arrival order and never two of them take the last free place. */
  private passRateGate(endpoint: string): Promise<WindowEntry> {
    const passed = this.rateGate.then(() => this.waitForRoom(endpoint));
    this.rateGate = passed.then(
      () => undefined,
      () => undefined,
    );
    return passed;
  }

  private async waitForRoom(endpoint: string): Promise<WindowEntry> {
    for (;;) {
      const now = this.clock.now();
      this.prune(now);
      if (this.entries.length < this.limits.callsPerWindow) {
        // Re-checked here: the budget may have been spent while this call waited.
        this.refuseIfQuotaSpent(endpoint);
        const entry: WindowEntry = { start: now };
        this.entries.push(entry);
        this.dailyCalls++;
        this.perEndpoint[endpoint] = (this.perEndpoint[endpoint] ?? 0) + 1;
        return entry;
      }
      const ends = this.entries.filter((e) => e.end !== undefined).map((e) => e.end!);
      const signal = this.releaseSignal.promise;
      if (ends.length === 0) {
        await signal;
      } else {
        const wait = Math.min(...ends) + this.limits.windowMs + this.marginMs - now;
        const stop = new AbortController();
        await Promise.race([this.clock.sleep(wait, stop.signal), signal]);
        stop.abort();
      }
    }
  }

  private prune(now: number): void {
    const horizon = now - this.limits.windowMs - this.marginMs;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const end = this.entries[i]!.end;
      if (end !== undefined && end <= horizon) this.entries.splice(i, 1);
    }
  }

  private releaser(entry?: WindowEntry): Release {
    let released = false;
    return (info) => {
      if (released) return;
      released = true;
      if (entry) entry.end = this.latestArrival(entry, info);
      this.freeSlot();
      const signal = this.releaseSignal;
      this.releaseSignal = deferred();
      signal.resolve();
    };
  }

  private latestArrival(entry: WindowEntry, info: ReleaseInfo | undefined): number {
    const responded = Math.min(this.clock.now(), info?.respondedAt ?? Infinity);
    return this.arrivals.latestArrival(entry.start, responded, info?.serverTime);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
