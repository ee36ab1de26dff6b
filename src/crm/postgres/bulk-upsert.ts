import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CrmRecord, UpsertOptions, UpsertResult } from '../connector.js';
import { checkValue, escapeCopy } from './copy-encoding.js';
import { inTransaction, type WriteOrigin } from './db.js';
import type { ColumnMeta, TableMeta } from './introspect.js';

/** Rows of one batch that share a column set: they are merged by one statement. */
interface Group {
  columns: ColumnMeta[];
  rows: PreparedRow[];
}

interface PreparedRow {
  index: number;
  /** Checked text values in `columns` order (null = SQL NULL). */
  values: (string | null)[];
  /** The key as given (id for keyField 'id'), canonical form; undefined when absent. */
  key: string | undefined;
}

export interface BulkUpsertContext {
  pool: pg.Pool;
  schema: string;
  origin: WriteOrigin;
  table: TableMeta;
  /** SQL expression that mints a new id for the table (its column default). */
  idDefault: string;
}

type Failure = { code: string; reason: string };

/**
 * Set-based upsert, never a statement per row. For an external key (the Marketo→CRM path) one
 * index probe finds which keys exist; new records are COPYed straight into the table with ids
 * minted beforehand, existing ones are updated by one `UPDATE ... FROM unnest(...)`. Should that
 * fail (e.g. another writer inserted the same key in between), the group is retried with a single
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT`. If the database still rejects a group (a
 * foreign key, a check), it is split in halves until the offending records are isolated, so a bad
 * record fails alone and the rest go through.
 */
export async function bulkUpsert(ctx: BulkUpsertContext, records: readonly CrmRecord[], options: UpsertOptions): Promise<UpsertResult[]> {
  const { table } = ctx;
  const keyColumn = table.columns.get(options.keyField);
  const byId = options.keyField === 'id';
  if (!keyColumn || (!byId && !keyColumn.field.unique)) {
    throw new Error(`keyField '${options.keyField}' is not the id or a unique field of ${table.entity}`);
  }
  const results: UpsertResult[] = new Array<UpsertResult>(records.length);
  let groups = new Map<string, Group>();
  const seenKeys = new Set<string>();
  const planFor = (names: string[]): Group | Failure => {
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
  // Records from one mapper share their key list: check the names once per distinct list.
  let lastNames: string[] = [];
  let lastPlan: Group | Failure | undefined;

  const fail = (index: number, code: string, reason: string): void => {
    results[index] = { index, status: 'failed', code, reason };
  };
  const prepare = (record: CrmRecord, index: number): void => {
    const names = Object.keys(record);
    if (!lastPlan || !sameNames(names, lastNames)) {
      lastPlan = planFor(names);
      lastNames = names;
    }
    const plan = lastPlan;
    if ('code' in plan) return fail(index, plan.code, plan.reason);
    const keyValue = record[options.keyField];
    const hasKey = keyValue !== undefined && keyValue !== null && keyValue !== '';
    if (!byId && !hasKey) return fail(index, 'MISSING_KEY', `key field '${options.keyField}' is empty`);
    if (byId && !hasKey && options.updateOnly) return fail(index, 'MISSING_KEY', "key field 'id' is empty");
    let key: string | undefined;
    if (hasKey) {
      const checked = checkValue(keyColumn, keyValue);
      if (checked === null || typeof checked !== 'string') return fail(index, 'INVALID_VALUE', checked?.error ?? `key field '${options.keyField}' is empty`);
      key = canonicalKey(keyColumn, checked);
      if (seenKeys.has(key)) return fail(index, 'DUPLICATE_IN_BATCH', `another record of this batch has the same '${options.keyField}'`);
      seenKeys.add(key);
    }
    // Only the checked values are kept (mostly the input's own strings): COPY lines are built when
    // sent, so they die young instead of filling the old generation while the chunk waits.
    const values: (string | null)[] = new Array<string | null>(plan.columns.length);
    for (let c = 0; c < plan.columns.length; c++) {
      const column = plan.columns[c]!;
      const checked = checkValue(column, record[column.field.name]);
      if (checked !== null && typeof checked !== 'string') return fail(index, 'INVALID_VALUE', checked.error);
      values[c] = checked;
    }
    plan.rows.push({ index, values, key });
  };

  // Chunks are prepared in JavaScript while the database merges earlier chunks, so the two halves
  // of the work overlap, and up to MERGES_IN_FLIGHT chunks merge at once on their own connections
  // (writing into an indexed table costs the database several times what preparing costs here).
  // Chunks never touch the same record: keys are unique across the whole call (DUPLICATE_IN_BATCH).
  const inFlight: Promise<void>[] = [];
  const settleAll = async () => {
    const outcomes = await Promise.allSettled(inFlight.splice(0));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
  };
  for (let start = 0; start < records.length; start += PIPELINE_CHUNK) {
    groups = new Map();
    lastPlan = undefined;
    const end = Math.min(records.length, start + PIPELINE_CHUNK);
    for (let index = start; index < end; index++) {
      prepare(records[index]!, index);
      // Let the merges in flight send their next statement or COPY data.
      if (inFlight.length > 0 && index % 1000 === 999) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const ready = [...groups.values()].filter((g) => g.rows.length > 0);
    if (inFlight.length >= MERGES_IN_FLIGHT) {
      try {
        await inFlight.shift();
      } catch (err) {
        await Promise.allSettled(inFlight);
        throw err;
      }
    }
    const merge = (async () => {
      for (const group of ready) await mergeIsolatingFailures(ctx, group, options, results);
    })();
    // Handled when awaited above or below; this only keeps an early failure from counting as unhandled.
    void merge.catch(() => undefined);
    inFlight.push(merge);
  }
  await settleAll();
  // Every input gets a result, even if a statement unexpectedly reported fewer rows.
  for (let i = 0; i < results.length; i++) {
    results[i] ??= { index: i, status: 'failed', code: 'NO_RESULT', reason: 'the database reported no outcome for this record' };
  }
  return results;
}

const PIPELINE_CHUNK = 10_000;
/** Chunk merges running at once; the connector's pool (default 4 connections) must leave room for readers. */
const MERGES_IN_FLIGHT = 2;

function sameNames(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Postgres prints integers without leading zeros or '+': compare keys in that form. */
const CANONICAL_INTEGER = /^(0|-?[1-9]\d*)$/;

function canonicalKey(column: ColumnMeta, text: string): string {
  if (column.field.type !== 'integer' || CANONICAL_INTEGER.test(text)) return text;
  return BigInt(text).toString();
}

async function mergeIsolatingFailures(ctx: BulkUpsertContext, group: Group, options: UpsertOptions, results: UpsertResult[], conservative = false): Promise<void> {
  try {
    const outcome = await inTransaction(ctx.pool, ctx.origin, (client) => mergeGroup(client, ctx, group, options, conservative));
    for (const r of outcome) results[r.index] = r;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!e.code || group.rows.length === 0) throw err;
    if (!conservative) return mergeIsolatingFailures(ctx, group, options, results, true);
    if (group.rows.length === 1) {
      const index = group.rows[0]!.index;
      results[index] = { index, status: 'failed', code: e.code, reason: e.message };
      return;
    }
    const half = Math.ceil(group.rows.length / 2);
    await mergeIsolatingFailures(ctx, { columns: group.columns, rows: group.rows.slice(0, half) }, options, results, true);
    await mergeIsolatingFailures(ctx, { columns: group.columns, rows: group.rows.slice(half) }, options, results, true);
  }
}

const NEEDS_QUOTING = /["\\]/;

/** A Postgres array literal of text elements (every element quoted, NULL bare). */
export function arrayLiteral(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += NEEDS_QUOTING.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`;
  }
  return out + '}';
}

async function mergeGroup(client: pg.PoolClient, ctx: BulkUpsertContext, group: Group, options: UpsertOptions, conservative: boolean): Promise<UpsertResult[]> {
  const target = `${escapeIdentifier(ctx.schema)}.${escapeIdentifier(ctx.table.table)}`;
  const byId = options.keyField === 'id';
  const keyColumn = ctx.table.columns.get(options.keyField)!;
  const key = escapeIdentifier(options.keyField);
  const cols = group.columns.map((c) => escapeIdentifier(c.field.name));
  const out: UpsertResult[] = [];
  const byKey = new Map<string, number>();

  /** `unnest($n::type[], ...) AS s(cols)` over the given rows, with the key column first when asked. */
  const source = (rows: readonly PreparedRow[], withKey: boolean, firstParam = 1) => {
    const params: string[] = [];
    const casts: string[] = [];
    const names: string[] = [];
    if (withKey) {
      params.push(arrayLiteral(rows.map((r) => r.key ?? null)));
      casts.push(`$${firstParam}::${keyColumn.sqlType}[]`);
      names.push('_key');
    }
    group.columns.forEach((c, i) => {
      params.push(arrayLiteral(rows.map((r) => r.values[i] ?? null)));
      casts.push(`$${firstParam + params.length - 1}::${c.sqlType}[]`);
      names.push(cols[i]!);
    });
    return { params, sql: `unnest(${casts.join(', ')}) AS s(${names.join(', ')})` };
  };

  if (byId || options.updateOnly) {
    const existing = group.rows.filter((r) => r.key !== undefined);
    for (const r of existing) byKey.set(r.key!, r.index);
    if (existing.length > 0) {
      const src = source(existing, true);
      const set = cols.length > 0 ? cols.map((c) => `${c} = s.${c}`).join(', ') : 'id = t.id';
      const { rows } = await client.query<{ id: string; k: string }>(
        `UPDATE ${target} t SET ${set} FROM ${src.sql} WHERE t.${key} = s._key RETURNING t.id, t.${key}::text AS k`,
        src.params,
      );
      const updated = new Set<number>();
      for (const r of rows) {
        const index = byKey.get(canonicalKey(keyColumn, r.k));
        if (index === undefined) continue;
        updated.add(index);
        out.push({ index, status: 'updated', id: r.id });
      }
      for (const r of existing) {
        if (!updated.has(r.index)) out.push({ index: r.index, status: 'failed', code: 'NOT_FOUND', reason: `no ${ctx.table.entity} with this ${options.keyField}` });
      }
    }
    const fresh = byId && !options.updateOnly ? group.rows.filter((r) => r.key === undefined) : [];
    if (fresh.length > 0) {
      // Ids are minted first so every created record can be reported against its input.
      const ids = await mintIds(client, ctx, fresh.length);
      const withIds = fresh.map((r, i) => ({ ...r, key: ids[i]! }));
      const src = source(withIds, true);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO ${target} (id${cols.map((c) => `, ${c}`).join('')}) SELECT s._key${cols.map((c) => `, s.${c}`).join('')} FROM ${src.sql} RETURNING id`,
        src.params,
      );
      const created = new Set(rows.map((r) => r.id));
      for (const r of withIds) if (created.has(r.key)) out.push({ index: r.index, status: 'created', id: r.key });
    }
    return out;
  }

  for (const r of group.rows) byKey.set(r.key!, r.index);
  if (!conservative) return copyNewUpdateExisting(client, ctx, group, options, byKey, source, target);
  const src = source(group.rows, false);
  const others = cols.filter((c) => c !== key);
  const set = others.length > 0 ? others.map((c) => `${c} = EXCLUDED.${c}`).join(', ') : `${key} = EXCLUDED.${key}`;
  const { rows } = await client.query<{ id: string; k: string; inserted: boolean }>(
    `INSERT INTO ${target} AS t (${cols.join(', ')}) SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM ${src.sql}
     ON CONFLICT (${key}) DO UPDATE SET ${set}
     RETURNING t.id, t.${key}::text AS k, (t.xmax = 0) AS inserted`,
    src.params,
  );
  for (const r of rows) {
    const index = byKey.get(canonicalKey(keyColumn, r.k));
    if (index !== undefined) out.push({ index, status: r.inserted ? 'created' : 'updated', id: r.id });
  }
  return out;
}

/**
 * When every key is an integer above the largest key the table holds, none can exist and the
 * per-record probe is skipped: one index descent instead of one per record, and the ids for all of
 * them are minted in the same statement. Marketo ids grow with creation time, so loads in creation
 * order (the bootstrap) are mostly such appends. A writer that inserts one of the keys meanwhile
 * makes the COPY fail, and the group is retried with ON CONFLICT. Undefined: probe the keys.
 */
async function appendIds(client: pg.PoolClient, ctx: BulkUpsertContext, target: string, key: string, keyColumn: ColumnMeta, rows: readonly PreparedRow[]): Promise<string[] | undefined> {
  if (keyColumn.field.type !== 'integer' || rows.length < 100) return undefined;
  let min: bigint | undefined;
  for (const r of rows) {
    const k = BigInt(r.key!);
    if (min === undefined || k < min) min = k;
  }
  if (min === undefined) return undefined;
  const { rows: found } = await client.query<{ ids: string | null }>(
    `SELECT CASE WHEN coalesce((SELECT max(${key}) FROM ${target}) < $1::${keyColumn.sqlType}, true)
                 THEN (SELECT string_agg(${ctx.idDefault}, E'\\n') FROM generate_series(1, $2)) END AS ids`,
    [min.toString(), rows.length],
  );
  const text = found[0]?.ids;
  if (text === null || text === undefined) return undefined;
  const ids = text.split('\n');
  if (ids.length !== rows.length) throw new Error(`minted ${ids.length} ids for ${rows.length} new records`);
  return ids;
}

/**
 * New ids from the table's own default (its sequence), minted before the write so each created
 * record can be reported against its input. One text value rather than one row per id: turning
 * thousands of result rows into objects costs more than minting them.
 */
async function mintIds(client: pg.PoolClient, ctx: BulkUpsertContext, n: number): Promise<string[]> {
  const { rows } = await client.query<{ ids: string | null }>(`SELECT string_agg(${ctx.idDefault}, E'\\n') AS ids FROM generate_series(1, $1)`, [n]);
  const ids = rows[0]?.ids?.split('\n') ?? [];
  if (ids.length !== n) throw new Error(`minted ${ids.length} ids for ${n} new records`);
  return ids;
}

type SourceBuilder = (rows: readonly PreparedRow[], withKey: boolean, firstParam?: number) => { params: string[]; sql: string };

async function copyNewUpdateExisting(
  client: pg.PoolClient,
  ctx: BulkUpsertContext,
  group: Group,
  options: UpsertOptions,
  byKey: Map<string, number>,
  source: SourceBuilder,
  target: string,
): Promise<UpsertResult[]> {
  const keyColumn = ctx.table.columns.get(options.keyField)!;
  const key = escapeIdentifier(options.keyField);
  const cols = group.columns.map((c) => escapeIdentifier(c.field.name));
  const existingIds = new Map<string, string>();
  const appended = await appendIds(client, ctx, target, key, keyColumn, group.rows);
  if (!appended) {
    const found = await client.query<{ k: string; id: string }>(
      `SELECT ${key}::text AS k, id FROM ${target} WHERE ${key} = ANY($1::${keyColumn.sqlType}[])`,
      [arrayLiteral(group.rows.map((r) => r.key!))],
    );
    for (const r of found.rows) existingIds.set(canonicalKey(keyColumn, r.k), r.id);
  }
  const fresh = group.rows.filter((r) => !existingIds.has(r.key!));
  const existing = group.rows.filter((r) => existingIds.has(r.key!));
  const out: UpsertResult[] = [];
  if (fresh.length > 0) {
    const ids = appended ?? (await mintIds(client, ctx, fresh.length));
    const lines = function* (): Generator<string> {
      let buffer = '';
      // One flat string per row (join), not a chain of small concatenations the socket write must flatten.
      const fields: string[] = [];
      for (let i = 0; i < fresh.length; i++) {
        const row = fresh[i]!;
        fields.length = 0;
        fields.push(escapeCopy(ids[i]!));
        for (const v of row.values) fields.push(v === null ? '\\N' : escapeCopy(v));
        buffer += fields.join('\t') + '\n';
        if (buffer.length >= 1 << 20) {
          yield buffer;
          buffer = '';
        }
      }
      if (buffer) yield buffer;
    };
    await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${target} (id, ${cols.join(', ')}) FROM STDIN`)));
    fresh.forEach((r, i) => out.push({ index: r.index, status: 'created', id: ids[i]! }));
  }
  if (existing.length > 0) {
    const src = source(existing, true);
    const others = cols.filter((c) => c !== key);
    const set = others.length > 0 ? others.map((c) => `${c} = s.${c}`).join(', ') : `${key} = t.${key}`;
    const { rows } = await client.query<{ id: string; k: string }>(
      `UPDATE ${target} t SET ${set} FROM ${src.sql} WHERE t.${key} = s._key RETURNING t.id, t.${key}::text AS k`,
      src.params,
    );
    for (const r of rows) {
      const index = byKey.get(canonicalKey(keyColumn, r.k));
      if (index !== undefined) out.push({ index, status: 'updated', id: r.id });
    }
    // A record deleted since the probe: let the ON CONFLICT path decide for the whole group.
    if (rows.length < existing.length) throw Object.assign(new Error('records changed during the upsert'), { code: 'CONCURRENT_CHANGE' });
  }
  return out;
}
