import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { z } from 'zod';
import {
  CrmEntityName,
  CrmError,
  type Change,
  type ChangePage,
  type ChangeQuery,
  type ConvertLeadRequest,
  type ConvertLeadResult,
  type CrmConnector,
  type CrmDescribe,
  type CrmRecord,
  type DeleteResult,
  type MergeResult,
  type UpsertOptions,
  type UpsertResult,
} from '../connector.js';
import { assertIdentifier } from '../identifiers.js';
import { runMigrations } from '../../store/migrate.js';
import { bulkUpsert } from './bulk-upsert.js';
import { crmMigrations } from './crm-schema.js';
import { createPool, inTransaction, type WriteOrigin } from './db.js';
import { introspect, type TableMeta } from './introspect.js';
import { convertLead, mergeRecords } from './merge-convert.js';
import { provisionCustomObject, provisionField, type CustomObjectSpec, type FieldSpec, type ProvisionResult } from './provision.js';

export const PostgresCrmOptions = z.object({
  connectionString: z.string().min(1),
  /** Schema holding the CRM tables (created on open). */
  schema: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/).default('crm'),
  /** 'sync' for the sync's own connector; 'user' to act as a CRM user (tests, demo, other apps). */
  writeOrigin: z.enum(['sync', 'user']).default('sync'),
  poolSize: z.number().int().min(1).max(50).default(4),
});
export type PostgresCrmOptions = z.input<typeof PostgresCrmOptions>;

const ChangeQuerySchema = z.object({
  since: z.date().optional(),
  cursor: z.string().optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
  includeOwnWrites: z.boolean().default(false),
  snapshot: z.boolean().default(false),
});

const Cursor = z.tuple([z.string(), z.string()]);

/** Fixed-width UTC microseconds: sorts as text in the same order as the timestamps. */
const TS_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new CrmError('INVALID_CURSOR', 'cursor is not one this connector returned');
  }
}

/**
 * A CRM whose data lives in Postgres (see crm-schema.ts for the tables). It is a connector for
 * CRMs that live in SQL and the CRM of every test and demo.
 */
export class PostgresCrmConnector implements CrmConnector {
  private metas: Map<CrmEntityName, TableMeta> | undefined;
  private readonly idDefaults = new Map<string, string>();

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    readonly origin: WriteOrigin,
  ) {}

  /** Connects and creates or upgrades the CRM schema (idempotent, safe for concurrent starters). */
  static async open(options: PostgresCrmOptions): Promise<PostgresCrmConnector> {
    const opts = PostgresCrmOptions.parse(options);
    const pool = createPool(opts.connectionString, opts.poolSize);
    try {
      await runMigrations(pool, { schema: opts.schema, migrations: crmMigrations });
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresCrmConnector(pool, opts.schema, opts.writeOrigin);
  }

  private get qschema(): string {
    return escapeIdentifier(this.schema);
  }

  async table(entity: CrmEntityName, refresh = false): Promise<TableMeta> {
    const name = CrmEntityName.parse(entity);
    if (!this.metas || refresh) this.metas = await introspect(this.pool, this.schema);
    let meta = this.metas.get(name);
    if (!meta && !refresh) meta = await this.table(name, true);
    if (!meta) throw new CrmError('UNKNOWN_ENTITY', `no CRM entity '${name}'`);
    return meta;
  }

  /** Forgets cached table metadata (after DDL made by another program). */
  invalidate(): void {
    this.metas = undefined;
  }

  async describe(): Promise<CrmDescribe> {
    this.metas = await introspect(this.pool, this.schema);
    return {
      entities: [...this.metas.values()].map((m) => ({
        name: m.entity,
        label: m.label,
        idField: 'id',
        fields: [...m.columns.values()].map((c) => c.field),
      })),
    };
  }

  /**
   * Records and tombstones changed after the position, ordered by (change time, id).
   *
   * A row only becomes visible when its transaction commits, which can be after rows with later
   * times were read. So a page never reaches past a horizon: the start of the oldest transaction
   * in this database that may still commit rows stamped before now (or now). Every row stamped
   * before it is committed and visible; a long-open writer holds the stream back rather than
   * letting a change slip by. Only transactions that have written (they hold a transaction id)
   * or are running a statement (a trigger may be stamping a row before the id is assigned) can:
   * an idle read-only transaction (a forgotten psql session, another reader) will stamp any later
   * write with a later clock, so it must not freeze the stream.
   * A `snapshot` read has no horizon: it wants what is committed now, not a resumable stream.
   */
  async readChanges(entity: CrmEntityName, query: ChangeQuery): Promise<ChangePage> {
    const q = ChangeQuerySchema.parse(query);
    const meta = await this.table(entity);
    const [fromTs, fromId] = q.cursor ? decodeCursor(q.cursor) : [q.since ? q.since.toISOString() : '-infinity', ''];
    const client = await this.pool.connect();
    try {
      // The stream is always best read as an ordered index range. Right after a bulk load the
      // statistics still describe an empty table and the planner would sort the whole table instead.
      await client.query('BEGIN READ ONLY');
      await client.query('SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
      const h = q.snapshot ? undefined : await client.query<{ horizon: string }>(
        `SELECT to_char(greatest($1::timestamptz, least(clock_timestamp(),
            (SELECT min(xact_start) FROM pg_stat_activity
              WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                AND (backend_xid IS NOT NULL OR state = 'active'))))
            AT TIME ZONE 'UTC', ${TS_FORMAT}) AS horizon`,
        [fromTs],
      );
      const horizon = h ? h.rows[0]!.horizon : 'infinity';
      const target = `${this.qschema}.${escapeIdentifier(meta.table)}`;
      // Two index scans merged here rather than one UNION: a sort of wide rows in SQL spills to disk.
      // Ids compare in "C" collation on both sides so JavaScript and Postgres agree on the order.
      const records = await client.query<{ id: string; ts: string; rec: CrmRecord }>(
        `SELECT t.id, to_char(t.updated_at AT TIME ZONE 'UTC', ${TS_FORMAT}) AS ts, row_to_json(t) AS rec
         FROM ${target} t
         WHERE (t.updated_at, t.id COLLATE "C") > ($1::timestamptz, $2::text) AND t.updated_at < $3::timestamptz AND ($5 OR t.origin <> 'sync')
         ORDER BY t.updated_at, t.id COLLATE "C" LIMIT $4`,
        [fromTs, fromId, horizon, q.limit, q.includeOwnWrites],
      );
      const tombstones = await client.query<{ id: string; ts: string; keys: Record<string, string | number | null>; merged_into: string | null }>(
        `SELECT tb.record_id AS id, to_char(tb.deleted_at AT TIME ZONE 'UTC', ${TS_FORMAT}) AS ts, tb.keys, tb.merged_into
         FROM ${this.qschema}.tombstones tb
         WHERE tb.entity = $6 AND (tb.deleted_at, tb.record_id COLLATE "C") > ($1::timestamptz, $2::text) AND tb.deleted_at < $3::timestamptz
           AND ($5 OR tb.origin <> 'sync')
         ORDER BY tb.deleted_at, tb.record_id COLLATE "C" LIMIT $4`,
        [fromTs, fromId, horizon, q.limit, q.includeOwnWrites, meta.entity],
      );
      const changes: Change[] = [];
      let i = 0;
      let j = 0;
      const recs = records.rows;
      const tombs = tombstones.rows;
      while (changes.length < q.limit && (i < recs.length || j < tombs.length)) {
        const r = recs[i];
        const d = tombs[j];
        if (r && (!d || r.ts < d.ts || (r.ts === d.ts && r.id < d.id))) {
          // row_to_json is twice as fast as to_jsonb(t) - 'origin'; the bookkeeping column is dropped here.
          const { origin: _origin, ...record } = r.rec;
          changes.push({ kind: 'upsert', id: r.id, changedAt: r.ts, record });
          i++;
        } else if (d) {
          const keys = Object.fromEntries(Object.entries(d.keys ?? {}).map(([k, v]) => [k, v === null ? null : String(v)]));
          changes.push({ kind: 'delete', id: d.id, changedAt: d.ts, keys, mergedInto: d.merged_into });
          j++;
        }
      }
      await client.query('COMMIT');
      const last = changes[changes.length - 1];
      const hasMore = changes.length === q.limit;
      return { changes, hasMore, cursor: hasMore && last ? encodeCursor(last.changedAt, last.id) : encodeCursor(horizon, '') };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async getRecords(entity: CrmEntityName, ids: readonly string[]): Promise<CrmRecord[]> {
    const meta = await this.table(entity);
    const { rows } = await this.pool.query<{ rec: CrmRecord }>(
      `SELECT to_jsonb(t) - 'origin' AS rec FROM ${this.qschema}.${escapeIdentifier(meta.table)} t WHERE t.id = ANY($1::text[]) ORDER BY t.id`,
      [z.array(z.string()).parse(ids)],
    );
    return rows.map((r) => r.rec);
  }

  async upsert(entity: CrmEntityName, records: readonly CrmRecord[], options: UpsertOptions): Promise<UpsertResult[]> {
    if (records.length === 0) return [];
    let meta = await this.table(entity);
    // A field provisioned by another process since the last describe: look again once.
    const hasUnknown = (r: CrmRecord) => {
      for (const k in r) if (!meta.columns.has(k)) return true;
      return false;
    };
    if (records.some(hasUnknown)) meta = await this.table(entity, true);
    return bulkUpsert({ pool: this.pool, schema: this.schema, origin: this.origin, table: meta, idDefault: await this.idDefault(meta) }, records, options);
  }

  async delete(entity: CrmEntityName, ids: readonly string[]): Promise<DeleteResult[]> {
    const meta = await this.table(entity);
    const wanted = z.array(z.string().min(1)).parse(ids);
    const deleted = await inTransaction(this.pool, this.origin, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `DELETE FROM ${this.qschema}.${escapeIdentifier(meta.table)} WHERE id = ANY($1::text[]) RETURNING id`,
        [wanted],
      );
      return new Set(rows.map((r) => r.id));
    });
    return wanted.map((id) =>
      deleted.has(id) ? { id, status: 'deleted' as const } : { id, status: 'failed' as const, code: 'NOT_FOUND', reason: `no ${meta.entity} with this id` },
    );
  }

  async merge(entity: 'lead' | 'contact' | 'account', winnerId: string, loserIds: readonly string[]): Promise<MergeResult> {
    const metas = await this.allTables();
    return mergeRecords({ pool: this.pool, schema: this.schema, origin: this.origin, metas }, z.enum(['lead', 'contact', 'account']).parse(entity), winnerId, loserIds);
  }

  async convertLead(request: ConvertLeadRequest): Promise<ConvertLeadResult> {
    const metas = await this.allTables();
    return convertLead({ pool: this.pool, schema: this.schema, origin: this.origin, metas }, request);
  }

  /** Adds the column for a Marketo field enabled for sync (no-op when it exists with a compatible type). */
  async provisionField(entity: CrmEntityName, field: FieldSpec): Promise<ProvisionResult> {
    const meta = await this.table(entity);
    const result = await provisionField(this.pool, this.schema, meta, field);
    this.invalidate();
    return result;
  }

  /** Creates the table for a Marketo custom object enabled for sync (entity `custom:<name>`). */
  async provisionCustomObject(spec: CustomObjectSpec): Promise<ProvisionResult> {
    const result = await provisionCustomObject(this.pool, this.schema, spec);
    this.invalidate();
    return result;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async allTables(): Promise<Map<CrmEntityName, TableMeta>> {
    await this.table('lead');
    return this.metas!;
  }

  private async idDefault(meta: TableMeta): Promise<string> {
    const cached = this.idDefaults.get(meta.table);
    if (cached) return cached;
    const { rows } = await this.pool.query<{ expr: string | null }>(
      `SELECT pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = $1::regclass AND a.attname = 'id'`,
      [`${this.qschema}.${escapeIdentifier(assertIdentifier(meta.table, 'table name'))}`],
    );
    const expr = rows[0]?.expr;
    if (!expr) throw new CrmError('NO_ID_DEFAULT', `table ${meta.table} has no default for id`);
    this.idDefaults.set(meta.table, expr);
    return expr;
  }
}
