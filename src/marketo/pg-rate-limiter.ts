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
    /** Recheck interval while all connection slots are taken, should a NOTIFY be missed (window waits are computed). */
    pollMs: z.number().int().positive().default(250),
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
);
-- One round trip per decision: the window, the connection cap and the daily budget, under one lock.
CREATE OR REPLACE FUNCTION marketo_limiter_take(
  p_key text, p_endpoint text, p_counts_rate boolean, p_calls int, p_window_ms bigint, p_margin_ms bigint,
  p_max_concurrent int, p_daily bigint, p_lease_ms bigint)
RETURNS TABLE (o_id bigint, o_wait_ms bigint, o_quota_spent boolean, o_day text, o_used bigint, o_in_window int, o_in_flight int, o_now bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  v_day text := to_char(clock_timestamp() AT TIME ZONE 'America/Chicago', 'YYYY-MM-DD');
  v_in_flight int;
  v_in_window int;
  v_oldest bigint;
  v_used bigint;
  v_id bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('marketo-limiter:' || p_key));
  -- Crashed holders: a lapsed lease counts as ended at its end (conservative).
  UPDATE marketo_limiter_calls c SET ended_ms = c.lease_ms WHERE c.limiter_key = p_key AND c.ended_ms IS NULL AND c.lease_ms < v_now;
  DELETE FROM marketo_limiter_calls c WHERE c.limiter_key = p_key AND c.ended_ms <= v_now - p_window_ms - p_margin_ms;
  SELECT count(*) FILTER (WHERE c.ended_ms IS NULL), count(*) FILTER (WHERE c.counts_rate), min(c.ended_ms) FILTER (WHERE c.counts_rate)
    INTO v_in_flight, v_in_window, v_oldest FROM marketo_limiter_calls c WHERE c.limiter_key = p_key;
  SELECT coalesce(sum(d.calls), 0) INTO v_used FROM marketo_limiter_daily d WHERE d.limiter_key = p_key AND d.day = v_day;
  IF p_counts_rate AND v_used >= p_daily THEN
    RETURN QUERY SELECT NULL::bigint, NULL::bigint, true, v_day, v_used, v_in_window, v_in_flight, v_now;
    RETURN;
  END IF;
  IF v_in_flight < p_max_concurrent AND (NOT p_counts_rate OR v_in_window < p_calls) THEN
    INSERT INTO marketo_limiter_calls (limiter_key, endpoint, counts_rate, started_ms, lease_ms)
      VALUES (p_key, p_endpoint, p_counts_rate, v_now, v_now + p_lease_ms) RETURNING id INTO v_id;
    IF p_counts_rate THEN
      INSERT INTO marketo_limiter_daily AS d (limiter_key, day, endpoint, calls) VALUES (p_key, v_day, p_endpoint, 1)
        ON CONFLICT (limiter_key, day, endpoint) DO UPDATE SET calls = d.calls + 1;
      v_used := v_used + 1;
      v_in_window := v_in_window + 1;
    END IF;
    RETURN QUERY SELECT v_id, NULL::bigint, false, v_day, v_used, v_in_window, v_in_flight + 1, v_now;
    RETURN;
  END IF;
  RETURN QUERY SELECT NULL::bigint,
    CASE WHEN p_counts_rate AND v_in_window >= p_calls AND v_in_flight < p_max_concurrent AND v_oldest IS NOT NULL
         THEN greatest(1, v_oldest + p_window_ms + p_margin_ms - v_now) END,
    false, v_day, v_used, v_in_window, v_in_flight, v_now;
END
$fn$;`;

const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
const CHANNEL = 'marketo_limiter';

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
  private wake = new AbortController();
  private wakeups = 0;
  private listener: pg.PoolClient | undefined;

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
    // Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog: serialise the workers starting up.
    const db = await limiter.o.pool.connect();
    try {
      await db.query('BEGIN');
      await db.query("SELECT pg_advisory_xact_lock(hashtext('marketo-limiter:schema'))");
      await db.query(SCHEMA_SQL);
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    await limiter.listen();
    return limiter;
  }

  /** Waits for pending release writes and gives back the listening connection (call before `pool.end()`). */
  async close(): Promise<void> {
    await this.drain();
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
      listener.release();
    }
  }

  private async listen(): Promise<void> {
    const listener = await this.o.pool.connect();
    listener.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload === this.o.key) {
        this.wakeups++;
        this.wake.abort();
      }
    });
    listener.on('error', (err) => this.o.onError?.(err));
    await listener.query(`LISTEN ${CHANNEL}`);
    this.listener = listener;
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
      const seen = this.wakeups;
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
      // Any worker's release (NOTIFY) wakes the head early; the poll is only the fallback.
      // A release announced while we were asking is not missed: ask again at once.
      if (this.wakeups !== seen) continue;
      this.wake = new AbortController();
      await this.clock.sleep(decision.waitMs, this.wake.signal);
    }
  }

  private async tryTake(
    endpoint: string,
    countsRate: boolean,
  ): Promise<{ id: string } | { quotaSpent: true; day: string; now: number } | { waitMs: number }> {
    const { pool, key, limits, leaseMs, pollMs } = this.o;
    const { rows } = await pool.query<{
      o_id: string | null;
      o_wait_ms: string | null;
      o_quota_spent: boolean;
      o_day: string;
      o_used: string;
      o_in_window: number;
      o_in_flight: number;
      o_now: string;
    }>('SELECT * FROM marketo_limiter_take($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      key,
      endpoint,
      countsRate,
      limits.callsPerWindow,
      limits.windowMs,
      this.marginMs,
      limits.maxConcurrent,
      limits.dailyCalls,
      leaseMs,
    ]);
    const r = rows[0]!;
    this.last = { day: r.o_day, dailyCalls: Number(r.o_used), windowCalls: r.o_in_window, inFlight: r.o_in_flight };
    if (r.o_quota_spent) return { quotaSpent: true, day: r.o_day, now: Number(r.o_now) };
    if (r.o_id !== null) return { id: r.o_id };
    return { waitMs: r.o_wait_ms !== null ? Number(r.o_wait_ms) : pollMs };
  }

  private release(id: string, countsRate: boolean, startedAt: number, info: ReleaseInfo | undefined): void {
    const now = this.clock.now();
    const responded = Math.min(now, info?.respondedAt ?? Infinity);
    // How long before this moment Marketo counted the call at the latest, applied on the database clock.
    const aheadMs = Math.max(0, Math.round(now - this.arrivals.latestArrival(startedAt, responded, info?.serverTime)));
    // The NOTIFY wakes the waiting head of every worker sharing the key.
    const write = countsRate
      ? this.o.pool.query(
          `WITH done AS (UPDATE marketo_limiter_calls SET ended_ms = greatest(started_ms, ${NOW_MS} - $2::bigint) WHERE id = $1 RETURNING 1)
           SELECT pg_notify('${CHANNEL}', $3) FROM done`,
          [id, aheadMs, this.o.key],
        )
      : this.o.pool.query(`WITH done AS (DELETE FROM marketo_limiter_calls WHERE id = $1 RETURNING 1) SELECT pg_notify('${CHANNEL}', $2) FROM done`, [id, this.o.key]);
    // If the write fails the row keeps counting as in flight until its lease lapses: safe, only slower.
    const tracked = write
      .catch((err: unknown) => this.o.onError?.(err))
      .finally(() => {
        this.pendingReleases.delete(tracked);
      });
    this.pendingReleases.add(tracked);
  }
}
