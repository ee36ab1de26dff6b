import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CrmRecord, UpsertOptions, UpsertResult } from '../connector.js';
import { encodeCopyValue } from './copy-encoding.js';
import { inTransaction, type WriteOrigin } from './db.js';
import type { ColumnMeta, TableMeta } from './introspect.js';

/** Rows of one batch that share a column set: they are staged and merged together. */
interface Group {
  columns: ColumnMeta[];
  rows: StagedRow[];
}

interface StagedRow {
  index: number;
  /** Tab-separated COPY fields after `idx` (and `id` for keyField 'id'). */
  line: string;
  hasId: boolean;
}

export interface BulkUpsertContext {
  pool: pg.Pool;
  schema: string;
  origin: WriteOrigin;
  table: TableMeta;
  /** SQL expression that mints a new id for the table (its column default). */
  idDefault: string;
}

const COPY_CHUNK = 1 << 20;

/**
 * Set-based upsert: valid records are COPYed into a temporary staging table and merged with one
 * INSERT ... ON CONFLICT (or UPDATE ... FROM) per group of records with the same columns. If the
 * database rejects a group (a foreign key, a check), the group is split in halves until the
 * offending records are isolated, so one bad record fails alone and the rest go through.
 */
export async function bulkUpsert(ctx: BulkUpsertContext, records: readonly CrmRecord[], options: UpsertOptions): Promise<UpsertResult[]> {
  const { table } = ctx;
  const keyColumn = table.columns.get(options.keyField);
  const byId = options.keyField === 'id';
  if (!keyColumn || (!byId && !keyColumn.field.unique)) {
    throw new Error(`keyField '${options.keyField}' is not the id or a unique field of ${table.entity}`);
  }
  const results: UpsertResult[] = new Array<UpsertResult>(records.length);
  const groups = new Map<string, Group>();
  // Records from one mapper share their key list: check the field names once per distinct list.
  const plans = new Map<string, Group | { code: string; reason: string }>();
  const seenKeys = new Set<string>();
  const planFor = (names: string[]): Group | { code: string; reason: string } => {
    const columns: ColumnMeta[] = [];
    for (const name of names) {
      const column = table.columns.get(name);
      if (!column) return { code: 'UNKNOWN_FIELD', reason: `field '${name}' does not exist on ${table.entity}` };
      if (name === 'id' && byId) continue;
      if (!column.field.updateable) return { code: 'READ_ONLY_FIELD', reason: `field '${name}' of ${table.entity} is not writable` };
      columns.push(column);
    }
    columns.sort((a, b) => (a.field.name < b.field.name ? -1 : 1));
    const signature = columns.map((c) => c.field.name).join(',');
    let group = groups.get(signature);
    if (!group) groups.set(signature, (group = { columns, rows: [] }));
    return group;
  };

  records.forEach((record, index) => {
    const fail = (code: string, reason: string) => {
      results[index] = { index, status: 'failed', code, reason };
    };
    const names = Object.keys(record);
    const listKey = names.join('\u0001');
    let plan = plans.get(listKey);
    if (!plan) plans.set(listKey, (plan = planFor(names)));
    if ('code' in plan) return fail(plan.code, plan.reason);
    const keyValue = record[options.keyField];
    const hasKey = keyValue !== undefined && keyValue !== null && keyValue !== '';
    if (!byId && !hasKey) return fail('MISSING_KEY', `key field '${options.keyField}' is empty`);
    if (byId && !hasKey && options.updateOnly) return fail('MISSING_KEY', "key field 'id' is empty");
    if (hasKey) {
      const key = String(keyValue);
      if (seenKeys.has(key)) return fail('DUPLICATE_IN_BATCH', `another record of this batch has the same '${options.keyField}'`);
      seenKeys.add(key);
    }
    let line = String(index);
    if (byId) {
      const id = hasKey ? encodeCopyValue(keyColumn, keyValue) : '\\N';
      if (typeof id !== 'string') return fail('INVALID_VALUE', id.error);
      line += '\t' + id;
    }
    for (const column of plan.columns) {
      const encoded = encodeCopyValue(column, record[column.field.name]);
      if (typeof encoded !== 'string') return fail('INVALID_VALUE', encoded.error);
      line += '\t' + encoded;
    }
    plan.rows.push({ index, line, hasId: hasKey });
  });

  for (const group of groups.values()) if (group.rows.length > 0) await mergeIsolatingFailures(ctx, group, options, results);
  return results;
}

async function mergeIsolatingFailures(ctx: BulkUpsertContext, group: Group, options: UpsertOptions, results: UpsertResult[]): Promise<void> {
  try {
    const outcome = await inTransaction(ctx.pool, ctx.origin, (client) => mergeGroup(client, ctx, group, options));
    for (const r of outcome) results[r.index] = r;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code || group.rows.length === 0) throw err;
    if (group.rows.length === 1) {
      const index = group.rows[0]!.index;
      results[index] = { index, status: 'failed', code: e.code, reason: e.message };
      return;
    }
    const half = Math.ceil(group.rows.length / 2);
    await mergeIsolatingFailures(ctx, { columns: group.columns, rows: group.rows.slice(0, half) }, options, results);
    await mergeIsolatingFailures(ctx, { columns: group.columns, rows: group.rows.slice(half) }, options, results);
  }
}

async function mergeGroup(client: pg.PoolClient, ctx: BulkUpsertContext, group: Group, options: UpsertOptions): Promise<UpsertResult[]> {
  const target = `${escapeIdentifier(ctx.schema)}.${escapeIdentifier(ctx.table.table)}`;
  const byId = options.keyField === 'id';
  const cols = group.columns.map((c) => escapeIdentifier(c.field.name));
  const stageCols = ['idx integer', ...(byId ? ['id text'] : []), ...group.columns.map((c) => `${escapeIdentifier(c.field.name)} ${c.sqlType}`)];
  await client.query(`CREATE TEMP TABLE crm_stage (${stageCols.join(', ')}) ON COMMIT DROP`);
  const copyCols = ['idx', ...(byId ? ['id'] : []), ...cols].join(', ');
  await pipeline(Readable.from(chunks(group.rows)), client.query(copyFrom(`COPY crm_stage (${copyCols}) FROM STDIN`)));
  // Without statistics the planner takes a fresh temp table for tiny and may pick nested loops.
  if (group.rows.length >= 1000) await client.query('ANALYZE crm_stage');

  const out: UpsertResult[] = [];
  const key = escapeIdentifier(options.keyField);
  const setList = (source: string) => cols.map((c) => `${c} = ${source}.${c}`).join(', ');

  if (byId || options.updateOnly) {
    // Records that name an existing record by key: update in place.
    if (cols.length > 0 || byId) {
      const set = cols.length > 0 ? setList('s') : 'id = t.id';
      const { rows } = await client.query<{ idx: number; id: string }>(
        `UPDATE ${target} t SET ${set} FROM crm_stage s WHERE t.${key} = s.${key} RETURNING s.idx, t.id`,
      );
      for (const r of rows) out.push({ index: r.idx, status: 'updated', id: r.id });
    }
    const updated = new Set(out.map((r) => r.index));
    for (const row of group.rows) {
      if (row.hasId && !updated.has(row.index)) {
        out.push({ index: row.index, status: 'failed', code: 'NOT_FOUND', reason: `no ${ctx.table.entity} with this ${options.keyField}` });
      }
    }
    if (byId && !options.updateOnly && group.rows.some((r) => !r.hasId)) {
      await client.query(`UPDATE crm_stage SET id = ${ctx.idDefault} WHERE id IS NULL AND idx = ANY($1::int[])`, [group.rows.filter((r) => !r.hasId).map((r) => r.index)]);
      const { rows } = await client.query<{ idx: number; id: string }>(
        `WITH ins AS (INSERT INTO ${target} (id${cols.map((c) => `, ${c}`).join('')})
                      SELECT id${cols.map((c) => `, ${c}`).join('')} FROM crm_stage WHERE idx = ANY($1::int[]) ORDER BY idx RETURNING id)
         SELECT s.idx, ins.id FROM ins JOIN crm_stage s USING (id)`,
        [group.rows.filter((r) => !r.hasId).map((r) => r.index)],
      );
      for (const r of rows) out.push({ index: r.idx, status: 'created', id: r.id });
    }
    return out;
  }

  const others = cols.filter((c) => c !== key);
  const set = others.length > 0 ? others.map((c) => `${c} = EXCLUDED.${c}`).join(', ') : `${key} = EXCLUDED.${key}`;
  const { rows } = await client.query<{ idx: number; id: string; inserted: boolean }>(
    `WITH up AS (
       INSERT INTO ${target} AS t (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM crm_stage
       ON CONFLICT (${key}) DO UPDATE SET ${set}
       RETURNING t.id, t.${key} AS k, (t.xmax = 0) AS inserted)
     SELECT s.idx, up.id, up.inserted FROM up JOIN crm_stage s ON s.${key} = up.k`,
  );
  for (const r of rows) out.push({ index: r.idx, status: r.inserted ? 'created' : 'updated', id: r.id });
  return out;
}

async function* chunks(rows: readonly StagedRow[]): AsyncGenerator<string> {
  let buffer = '';
  for (const row of rows) {
    buffer += row.line + '\n';
    if (buffer.length >= COPY_CHUNK) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
