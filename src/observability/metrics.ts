import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { quotaDay } from '../marketo/index.js';
import { countsByEndpointFamily, totalCalls } from './endpoint-label.js';

/** Where the metrics come from: the state store's tables, and the Marketo client's own counters. */
export interface MetricSources {
  /** The state store's pool and schema (cycle history and error ledger are read at scrape time). */
  pool: pg.Pool;
  schema: string;
  /**
   * This process's Marketo client: calls counted today, its own calls per endpoint, and the daily
   * budget. With the shared limiter `dailyCalls` is the deployment's total as last seen, and
   * `perEndpoint` this process's calls since it started.
   */
  processUsage(): { dailyCalls: number; dailyLimit: number; perEndpoint: Record<string, number> };
  /** The deployment's shared counters (PostgresRateLimiter), when the limiter is shared. */
  sharedUsage?(): Promise<{ day: string; total: number; perEndpoint: Record<string, number> }>;
}

export interface SyncMetrics {
  registry: Registry;
  /** One finished activity attempt: what the worker's interceptor reports. */
  observeActivity(activity: string, seconds: number, outcome: 'ok' | 'failed', code?: string): void;
}

const schemaName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/);

/**
 * This process's own calls of Marketo's day under the shared limiter, whose per-endpoint tally runs
 * from the process's start and never rolls over: the tally at the first scrape of a new day is that
 * day's baseline (calls between midnight and that scrape go to the day before: one scrape interval).
 */
function ownCallsToday(now: () => Date = () => new Date()): (perEndpoint: Record<string, number>) => number {
  let day = quotaDay(now());
  let baseline = 0;
  return (perEndpoint) => {
    const total = totalCalls(perEndpoint);
    const today = quotaDay(now());
    if (today !== day) {
      day = today;
      baseline = total;
    }
    return total - baseline;
  };
}

interface Snapshot {
  records: { entity: string; direction: string; created: number; updated: number; deleted: number; failed: number }[];
  /** finishedAt as Postgres prints it: microseconds, which a JS Date would cut to milliseconds. */
  finished: { kind: string; status: string; seconds: number; finishedAt: string }[];
  lastFinished: { kind: string; at: Date }[];
  ledger: { status: string; code: string; entity: string; n: number }[];
}

/**
 * Prometheus metrics of a worker. Records moved, cycle durations and the ledger are read from the
 * state store when scraped, so they count every worker's work and survive restarts; activity
 * timings and failures come from this process. Metric names are listed in docs/operations.md.
 */
export async function createSyncMetrics(sources: MetricSources, options: { defaultMetrics?: boolean } = {}): Promise<SyncMetrics> {
  const schema = escapeIdentifier(schemaName.parse(sources.schema));
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'marketo_sync_worker_' });

  // Cycles that finished before this process started are history, not this process's observations.
  const start = await sources.pool.query<{ at: string | null }>(`SELECT max(finished_at)::text AS at FROM ${schema}.cycles`);
  let finishedAfter: string = start.rows[0]?.at ?? '-infinity';

  // One set of queries per scrape, shared by the collectors of that scrape.
  let pending: Promise<Snapshot> | undefined;
  let takenAt = 0;
  const snapshot = (): Promise<Snapshot> => {
    if (pending && Date.now() - takenAt < 1_000) return pending;
    takenAt = Date.now();
    pending = (async () => {
      const [records, finished, last, ledger] = await Promise.all([
        sources.pool.query(`SELECT entity, direction, sum(created)::float8 AS created, sum(updated)::float8 AS updated,
            sum(deleted)::float8 AS deleted, sum(failed)::float8 AS failed FROM ${schema}.cycle_records GROUP BY entity, direction`),
        sources.pool.query(`SELECT kind, status, coalesce(duration_ms, 0)::float8 / 1000 AS seconds, finished_at::text AS "finishedAt"
            FROM ${schema}.cycles WHERE finished_at > $1::timestamptz ORDER BY finished_at`, [finishedAfter]),
        sources.pool.query(`SELECT kind, max(finished_at) AS at FROM ${schema}.cycles WHERE finished_at IS NOT NULL GROUP BY kind`),
        sources.pool.query(`SELECT status, code, entity, count(*)::int AS n FROM ${schema}.error_ledger GROUP BY status, code, entity`),
      ]);
      const snap: Snapshot = { records: records.rows, finished: finished.rows, lastFinished: last.rows, ledger: ledger.rows };
      const newest = snap.finished.at(-1);
      if (newest) finishedAfter = newest.finishedAt;
      return snap;
    })();
    // A failed scrape must not poison the next one.
    pending.catch(() => (pending = undefined));
    return pending;
  };

  // The in-process limiter's daily count is this process's own; the shared one's is the deployment's.
  const own = ownCallsToday();
  const processCallsToday = (): number => {
    const usage = sources.processUsage();
    return sources.sharedUsage ? own(usage.perEndpoint) : usage.dailyCalls;
  };

  const recordsSeen = new Map<string, number>();
  new Counter({
    name: 'marketo_sync_records_total',
    help: 'Records the sync cycles wrote, per entity, direction (toCrm, toMarketo) and outcome (created, updated, deleted, failed); all workers, from the cycle history (bootstraps are not in it)',
    labelNames: ['entity', 'direction', 'outcome'],
    registers: [registry],
    async collect() {
      for (const r of (await snapshot()).records) {
        for (const outcome of ['created', 'updated', 'deleted', 'failed'] as const) {
          const key = `${r.entity}|${r.direction}|${outcome}`;
          const total = Number(r[outcome]);
          const delta = total - (recordsSeen.get(key) ?? 0);
          // History only grows; a shrink (rows deleted by hand) is not a negative count.
          if (delta > 0) this.inc({ entity: r.entity, direction: r.direction, outcome }, delta);
          recordsSeen.set(key, Math.max(total, recordsSeen.get(key) ?? 0));
        }
      }
    },
  });

  const cycleDuration = new Histogram({
    name: 'marketo_sync_cycle_duration_seconds',
    help: 'Duration of finished sync cycles, per kind and status (the cycle history; bootstraps are not in it)',
    labelNames: ['kind', 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14_400],
    registers: [registry],
    async collect() {
      for (const c of (await snapshot()).finished) cycleDuration.observe({ kind: c.kind, status: c.status }, Number(c.seconds));
    },
  });

  new Gauge({
    name: 'marketo_sync_last_cycle_finished_timestamp_seconds',
    help: 'When the last cycle of each kind finished (alert when it stops moving)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const l of (await snapshot()).lastFinished) this.set({ kind: l.kind }, l.at.getTime() / 1000);
    },
  });

  new Gauge({
    name: 'marketo_sync_ledger_entries',
    help: 'Error ledger entries per status, error code and entity (ledger size)',
    labelNames: ['status', 'code', 'entity'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const l of (await snapshot()).ledger) this.set({ status: l.status, code: l.code, entity: l.entity }, l.n);
    },
  });

  new Gauge({
    name: 'marketo_api_calls_today',
    help: "Marketo API calls counted today (Marketo's day, America/Chicago): scope=deployment from the shared limiter, scope=process by this worker",
    labelNames: ['scope'],
    registers: [registry],
    async collect() {
      this.reset();
      this.set({ scope: 'process' }, processCallsToday());
      if (sources.sharedUsage) this.set({ scope: 'deployment' }, (await sources.sharedUsage()).total);
    },
  });

  new Gauge({
    name: 'marketo_api_calls_by_endpoint_today',
    help: 'Marketo API calls today per endpoint, bulk job ids as {exportId} (deployment-wide with the shared limiter, else this process)',
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      const per = sources.sharedUsage ? (await sources.sharedUsage()).perEndpoint : sources.processUsage().perEndpoint;
      for (const [endpoint, n] of Object.entries(countsByEndpointFamily(per))) this.set({ endpoint }, n);
    },
  });

  new Gauge({
    name: 'marketo_api_daily_quota',
    help: 'Daily Marketo API call budget the client keeps to (MARKETO_DAILY_CALLS)',
    registers: [registry],
    collect() {
      this.set(sources.processUsage().dailyLimit);
    },
  });

  new Gauge({
    name: 'marketo_api_quota_remaining',
    help: 'Marketo API calls left today (deployment-wide with the shared limiter)',
    registers: [registry],
    async collect() {
      const usage = sources.processUsage();
      const used = sources.sharedUsage ? (await sources.sharedUsage()).total : usage.dailyCalls;
      this.set(Math.max(0, usage.dailyLimit - used));
    },
  });

  const activityDuration = new Histogram({
    name: 'marketo_sync_activity_duration_seconds',
    help: 'Activity attempts in this worker, per activity type and outcome',
    labelNames: ['activity', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });
  const activityErrors = new Counter({
    name: 'marketo_sync_errors_total',
    help: 'Failed activity attempts in this worker, per activity type and error code (Marketo code such as 606, or the failure type)',
    labelNames: ['activity', 'code'],
    registers: [registry],
  });

  return {
    registry,
    observeActivity(activity, seconds, outcome, code) {
      activityDuration.observe({ activity, outcome }, seconds);
      if (outcome === 'failed') activityErrors.inc({ activity, code: code ?? 'unknown' });
    },
  };
}
