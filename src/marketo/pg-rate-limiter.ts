import type pg from 'pg';
import { z } from 'zod';
import { ArrivalEstimator } from './arrival-estimator.js';
import { classify, quotaDay } from './classification.js';
import { systemClock, type Clock } from './clock.js';
import { MarketoApiError } from './errors.js';
import { limitsSchema, type AcquireRequest, type LimiterUsage, type RateLimiter, type Release, type ReleaseInfo } from './rate-limiter.js';

const optionsSchema = z
  .object({
    pool: z.custom<pg.Pool>((v) => typeof v === 'object' && v !== null && typeof (v as pg.Pool).connect === 'function', { message: 'pool must be a pg.Pool' }),
    /** One key per Marketo subscription: every worker using the same key shares its limits. */
    key: z.string().min(1).default('default'),
    limits: limitsSchema.default(limitsSchema.parse({})),
    /** A call holding its slot longer than this is presumed dead (worker crashed) and stops counting as in flight. */
    leaseMs: z.number().int().positive().default(6 * 60_000),
    /** Recheck interval while all connection slots are taken (the window case computes its exact wait). */
    pollMs: z.number().int().positive().default(25),
    clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function').optional(),
    onError: z.custom<(err: unknown) => void>((v) => typeof v === 'function').optional(),
  })
  .strict();
export type PostgresRateLimiterOptions = z.input<typeof optionsSchema>;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS marketo_limiter_calls (
  id bigserial PRIMARY KEY,
  limiter_key text NOT NULL,
  endpoint text NOT NULL,
  counts_rate boolean NOT NULL,
  started_ms bigint NOT NULL,
  ended_ms bigint,
  lease_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS marketo_limiter_calls_key ON marketo_limiter_calls (limiter_key, ended_ms);
CREATE TABLE IF NOT EXISTS marketo_limiter_daily (
  limiter_key text NOT NULL,
  day text NOT NULL,
  endpoint text NOT NULL,
  calls bigint NOT NULL,
  PRIMARY KEY (limiter_key, day, endpoint)
);`;

const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * The limiter shared by several workers: the same sliding window + connection cap + daily budget as
 * InProcessRateLimiter, kept in Postgres and decided under a transaction-scoped advisory lock, on the
 * database's clock (so worker clocks need not agree). Within one process, waiters queue locally and only
 * the head asks the database.
 */
export class PostgresRateLimiter implements RateLimiter {
  private readonly o: z.output<typeof optionsSchema>;
  private readonly marginMs: number;
  private readonly clock: Clock;
  private readonly arrivals = new ArrivalEstimator();
  private gate: Promise<void> = Promise.resolve();
  private waiting = 0;
  private inFlightHere = 0;
  private pendingReleases = new Set<Promise<unknown>>();
  private last: { day: string; dailyCalls: number; windowCalls: number; inFlight: number } = { day: '', dailyCalls: 0, windowCalls: 0, inFlight: 0 };
  private perEndpoint: Record<string, number> = {};
  private identityCalls = 0;

  private constructor(options: PostgresRateLimiterOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`invalid PostgresRateLimiter options: ${z.prettifyError(parsed.error)}`);
    this.o = parsed.data;
    this.marginMs = this.o.limits.safetyMarginMs ?? Math.max(20, Math.round(this.o.limits.windowMs / 100));
    this.clock = this.o.clock ?? systemClock;
  }

  /** Creates the limiter and its two tables (idempotent). */
  static async create(options: PostgresRateLimiterOptions): Promise<PostgresRateLimiter> {
    const limiter = new PostgresRateLimiter(options);
    await limiter.o.pool.query(SCHEMA_SQL);
    return limiter;
  }

  acquire(request: AcquireRequest): Promise<Release> {
    this.waiting++;
    const turn = this.gate.then(() => this.acquireShared(request));
    this.gate = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn.finally(() => this.waiting--);
  }

  usage(): LimiterUsage {
    return {
      day: this.last.day,
      dailyCalls: this.last.dailyCalls,
      dailyLimit: this.o.limits.dailyCalls,
      remainingToday: Math.max(0, this.o.limits.dailyCalls - this.last.dailyCalls),
      perEndpoint: { ...this.perEndpoint },
      identityCalls: this.identityCalls,
      windowCalls: this.last.windowCalls,
      inFlight: this.inFlightHere,
      waiting: this.waiting,
    };
  }

  /** Today's calls per endpoint across every worker sharing the key. */
  async sharedUsage(): Promise<{ day: string; total: number; perEndpoint: Record<string, number> }> {
    const { rows } = await this.o.pool.query<{ now: string }>(`SELECT ${NOW_MS} AS now`);
    const day = quotaDay(new Date(Number(rows[0]!.now)));
    const res = await this.o.pool.query<{ endpoint: string; calls: string }>('SELECT endpoint, calls FROM marketo_limiter_daily WHERE limiter_key = $1 AND day = $2', [this.o.key, day]);
    const perEndpoint = Object.fromEntries(res.rows.map((r) => [r.endpoint, Number(r.calls)]));
    return { day, total: Object.values(perEndpoint).reduce((a, b) => a + b, 0), perEndpoint };
  }

  /** Waits for releases still being written (call before closing the pool). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pendingReleases]);
  }

  private async acquireShared(request: AcquireRequest): Promise<Release> {
    const countsRate = (request.kind ?? 'api') === 'api';
    const { limits } = this.o;
    for (;;) {
      const decision = await this.tryTake(request.endpoint, countsRate);
      if ('id' in decision) {
        const startedAt = this.clock.now();
        this.inFlightHere++;
        if (countsRate) this.perEndpoint[request.endpoint] = (this.perEndpoint[request.endpoint] ?? 0) + 1;
        else this.identityCalls++;
        let released = false;
        return (info?: ReleaseInfo) => {
          if (released) return;
          released = true;
          this.inFlightHere--;
          this.release(decision.id, countsRate, startedAt, info);
        };
      }
      if ('quotaSpent' in decision) {
        throw new MarketoApiError({
          code: '607',
          message: `Daily quota reached (shared local budget of ${limits.dailyCalls} calls for ${decision.day} spent)`,
          endpoint: request.endpoint,
          source: 'local',
          classification: classify('607', '', new Date(decision.now)),
        });
      }
      await this.clock.sleep(decision.waitMs);
    }
  }

  private async tryTake(
    endpoint: string,
    countsRate: boolean,
  ): Promise<{ id: string } | { quotaSpent: true; day: string; now: number } | { waitMs: number }> {
    const { pool, key, limits, leaseMs, pollMs } = this.o;
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`marketo-limiter:${key}`]);
      const now = Number((await db.query<{ now: string }>(`SELECT ${NOW_MS} AS now`)).rows[0]!.now);
      // Crashed holders: a lapsed lease counts as ended at its end (conservative).
      await db.query('UPDATE marketo_limiter_calls SET ended_ms = lease_ms WHERE limiter_key = $1 AND ended_ms IS NULL AND lease_ms < $2', [key, now]);
      await db.query('DELETE FROM marketo_limiter_calls WHERE limiter_key = $1 AND ended_ms <= $2', [key, now - limits.windowMs - this.marginMs]);
      const state = (
        await db.query<{ in_flight: number; in_window: number; oldest: string | null }>(
          `SELECT count(*) FILTER (WHERE ended_ms IS NULL)::int AS in_flight,
                  count(*) FILTER (WHERE counts_rate)::int AS in_window,
                  min(ended_ms) FILTER (WHERE counts_rate) AS oldest
             FROM marketo_limiter_calls WHERE limiter_key = $1`,
          [key],
        )
      ).rows[0]!;
      const day = quotaDay(new Date(now));
      const used = Number((await db.query<{ used: string }>('SELECT coalesce(sum(calls), 0) AS used FROM marketo_limiter_daily WHERE limiter_key = $1 AND day = $2', [key, day])).rows[0]!.used);
      this.last = { day, dailyCalls: used, windowCalls: state.in_window, inFlight: state.in_flight };
      if (countsRate && used >= limits.dailyCalls) {
        await db.query('COMMIT');
        return { quotaSpent: true, day, now };
      }
      const windowFull = countsRate && state.in_window >= limits.callsPerWindow;
      if (state.in_flight < limits.maxConcurrent && !windowFull) {
        const id = (
          await db.query<{ id: string }>(
            'INSERT INTO marketo_limiter_calls (limiter_key, endpoint, counts_rate, started_ms, lease_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id',
            [key, endpoint, countsRate, now, now + leaseMs],
          )
        ).rows[0]!.id;
        if (countsRate) {
          await db.query(
            `INSERT INTO marketo_limiter_daily (limiter_key, day, endpoint, calls) VALUES ($1, $2, $3, 1)
             ON CONFLICT (limiter_key, day, endpoint) DO UPDATE SET calls = marketo_limiter_daily.calls + 1`,
            [key, day, endpoint],
          );
          this.last = { day, dailyCalls: used + 1, windowCalls: state.in_window + 1, inFlight: state.in_flight + 1 };
        }
        await db.query('COMMIT');
        return { id };
      }
      await db.query('COMMIT');
      if (windowFull && state.in_flight < limits.maxConcurrent && state.oldest !== null) {
        return { waitMs: Math.max(1, Number(state.oldest) + limits.windowMs + this.marginMs - now) };
      }
      return { waitMs: pollMs };
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  private release(id: string, countsRate: boolean, startedAt: number, info: ReleaseInfo | undefined): void {
    const now = this.clock.now();
    const responded = Math.min(now, info?.respondedAt ?? Infinity);
    // How long before this moment Marketo counted the call at the latest, applied on the database clock.
    const aheadMs = Math.max(0, Math.round(now - this.arrivals.latestArrival(startedAt, responded, info?.serverTime)));
    const write = countsRate
      ? this.o.pool.query(`UPDATE marketo_limiter_calls SET ended_ms = greatest(started_ms, ${NOW_MS} - $2::bigint) WHERE id = $1`, [id, aheadMs])
      : this.o.pool.query('DELETE FROM marketo_limiter_calls WHERE id = $1', [id]);
    // If the write fails the row keeps counting as in flight until its lease lapses: safe, only slower.
    const tracked = write.catch((err: unknown) => this.o.onError?.(err)).finally(() => this.pendingReleases.delete(tracked));
    this.pendingReleases.add(tracked);
  }
}
