import type pg from 'pg';
import { z } from 'zod';

export const EntityCounts = z.object({
  entity: z.string().min(1),
  direction: z.enum(['toCrm', 'toMarketo']),
  created: z.number().int().nonnegative().default(0),
  updated: z.number().int().nonnegative().default(0),
  deleted: z.number().int().nonnegative().default(0),
  failed: z.number().int().nonnegative().default(0),
});
export type EntityCounts = z.input<typeof EntityCounts>;

/** A field both sides changed since the last cycle, and who won. Never the values. */
export const CycleConflict = z.object({
  entity: z.string().min(1),
  recordKey: z.string().min(1),
  field: z.string().min(1),
  /** The configured rule that decided (`crm` or `marketo`). */
  rule: z.string().min(1),
  winner: z.enum(['crm', 'marketo']),
});
export type CycleConflict = z.infer<typeof CycleConflict>;

export interface RecordedConflict extends CycleConflict {
  cycleId: string;
  at: Date;
}

export interface CycleSummary {
  id: string;
  kind: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  status: 'running' | 'succeeded' | 'failed';
  apiCalls: number;
  error: string | null;
  records: z.infer<typeof EntityCounts>[];
  /** Conflicts settled during the cycle (listed by `conflicts(id)`). */
  conflicts: number;
}

/** History of sync cycles and bootstraps: records moved per entity and direction, API calls, duration. */
export class CycleHistoryRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  async start(kind: string): Promise<string> {
    const { rows } = await this.pool.query(`INSERT INTO ${this.schema}.cycles (kind) VALUES ($1) RETURNING id::text AS id`, [z.string().min(1).parse(kind)]);
    return (rows[0] as { id: string }).id;
  }

  /** Adds to the counts of a running cycle (several activities report into one cycle). */
  async addCounts(cycleId: string, counts: readonly EntityCounts[], apiCalls = 0): Promise<void> {
    await this.inTransaction((client) => this.addCountsWith(client, cycleId, counts, apiCalls));
  }

  async finish(cycleId: string, outcome: { status: 'succeeded' | 'failed'; error?: string }): Promise<void> {
    await this.closeWith(this.pool, cycleId, outcome);
  }

  /**
   * Closes a running cycle with its last counts in one transaction. Only a cycle still `running`
   * takes them, so a retry of the same close (an activity retried after its commit) adds nothing
   * twice. Returns false when the cycle had already been closed.
   */
  async finishWithCounts(cycleId: string, counts: readonly EntityCounts[], apiCalls: number, outcome: { status: 'succeeded' | 'failed'; error?: string }): Promise<boolean> {
    return this.inTransaction(async (client) => {
      if (!(await this.closeWith(client, cycleId, outcome))) return false;
      await this.addCountsWith(client, cycleId, counts, apiCalls);
      return true;
    });
  }

  private async closeWith(db: Pick<pg.PoolClient, 'query'>, cycleId: string, outcome: { status: 'succeeded' | 'failed'; error?: string }): Promise<boolean> {
    const res = await db.query(
      `UPDATE ${this.schema}.cycles SET status = $2, error = $3, finished_at = clock_timestamp(),
         duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int
       WHERE id = $1 AND status = 'running'`,
      [cycleId, outcome.status, outcome.error ?? null],
    );
    return (res.rowCount ?? 0) > 0;
  }

  private async addCountsWith(client: pg.PoolClient, cycleId: string, counts: readonly EntityCounts[], apiCalls: number): Promise<void> {
    // One row per (entity, direction): a statement may not touch the same row twice.
    const merged = new Map<string, z.infer<typeof EntityCounts>>();
    for (const c of counts.map((x) => EntityCounts.parse(x))) {
      const key = `${c.entity}\u0000${c.direction}`;
      const prev = merged.get(key);
      merged.set(key, prev ? { ...prev, created: prev.created + c.created, updated: prev.updated + c.updated, deleted: prev.deleted + c.deleted, failed: prev.failed + c.failed } : c);
    }
    const parsed = [...merged.values()];
    if (parsed.length > 0) {
      await client.query(
        `INSERT INTO ${this.schema}.cycle_records (cycle_id, entity, direction, created, updated, deleted, failed)
         SELECT $1::bigint, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[])
         ON CONFLICT (cycle_id, entity, direction) DO UPDATE SET
           created = cycle_records.created + EXCLUDED.created, updated = cycle_records.updated + EXCLUDED.updated,
           deleted = cycle_records.deleted + EXCLUDED.deleted, failed = cycle_records.failed + EXCLUDED.failed`,
        [cycleId, parsed.map((c) => c.entity), parsed.map((c) => c.direction), parsed.map((c) => c.created),
          parsed.map((c) => c.updated), parsed.map((c) => c.deleted), parsed.map((c) => c.failed)],
      );
    }
    if (apiCalls) await client.query(`UPDATE ${this.schema}.cycles SET api_calls = api_calls + $2 WHERE id = $1`, [cycleId, z.number().int().nonnegative().parse(apiCalls)]);
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Records the conflicts a cycle settled. A step retried after it recorded them adds nothing
   * twice (one row per cycle, record and field).
   */
  async recordConflicts(cycleId: string, conflicts: readonly CycleConflict[]): Promise<void> {
    z.string().regex(/^\d+$/, 'cycleId must be a cycle id from start()').parse(cycleId);
    const parsed = conflicts.map((c) => CycleConflict.parse(c));
    if (parsed.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.schema}.cycle_conflicts (cycle_id, entity, record_key, field, rule, winner)
       SELECT $1::bigint, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT (cycle_id, entity, record_key, field) DO NOTHING`,
      [cycleId, parsed.map((c) => c.entity), parsed.map((c) => c.recordKey), parsed.map((c) => c.field), parsed.map((c) => c.rule), parsed.map((c) => c.winner)],
    );
  }

  /** Conflicts of one cycle, or (no id) the newest `limit` of all cycles, newest cycle first. */
  async conflicts(cycleId?: string, limit = 1_000): Promise<RecordedConflict[]> {
    if (cycleId !== undefined) z.string().regex(/^\d+$/, 'cycleId must be a cycle id').parse(cycleId);
    const { rows } = await this.pool.query(
      `SELECT cycle_id::text AS "cycleId", entity, record_key AS "recordKey", field, rule, winner, at
       FROM ${this.schema}.cycle_conflicts WHERE ($1::bigint IS NULL OR cycle_id = $1::bigint)
       ORDER BY cycle_id DESC, at, entity, record_key, field LIMIT $2`,
      [cycleId ?? null, z.number().int().positive().parse(limit)],
    );
    return rows as RecordedConflict[];
  }

  async recent(limit = 20): Promise<CycleSummary[]> {
    const { rows } = await this.pool.query(
      `SELECT c.id::text AS id, c.kind, c.started_at AS "startedAt", c.finished_at AS "finishedAt", c.duration_ms AS "durationMs",
              c.status, c.api_calls AS "apiCalls", c.error,
              coalesce(json_agg(json_build_object('entity', r.entity, 'direction', r.direction, 'created', r.created,
                'updated', r.updated, 'deleted', r.deleted, 'failed', r.failed) ORDER BY r.entity, r.direction)
                FILTER (WHERE r.entity IS NOT NULL), '[]') AS records,
              (SELECT count(*)::int FROM ${this.schema}.cycle_conflicts k WHERE k.cycle_id = c.id) AS conflicts
       FROM ${this.schema}.cycles c LEFT JOIN ${this.schema}.cycle_records r ON r.cycle_id = c.id
       GROUP BY c.id ORDER BY c.id DESC LIMIT $1`,
      [limit],
    );
    return rows as CycleSummary[];
  }
}
