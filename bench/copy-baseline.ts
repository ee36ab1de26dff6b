/**
 * Plain COPY rates: the baselines of the CRM-side benchmark (bench/crm-upsert.ts) and of issue 5's
 * ingest ratio, measured in the same process run as what they judge (same machine, same moment,
 * same cluster) rather than carried over from another day's run.
 *
 * `copyRecordsUnindexed` is the CRM-side benchmark's own baseline: mapped lead records encoded in
 * Node and COPYed into an unindexed plain table. `crmSideCopyRate` runs it on that benchmark's
 * synthetic leads, so the bootstrap bench can quote its ingest against the figure the issue names.
 *
 * `measurePlainCopy` is a stricter baseline for the persons a bootstrap wrote:
 * Each person table's rows (every column, as the bootstrap left them) are dumped once to a file
 * in COPY text form, untimed; then COPY FROM of that file into an unindexed plain table with the
 * same column types (`LIKE`, so no indexes, foreign keys, triggers or defaults) is timed. That is
 * the cheapest way the database can take these rows: what "plain COPY" means in
 * bench/crm-upsert.ts, without the Node-side encoding that bench also times. The copy runs twice
 * and the faster counts, so load on a shared machine cannot flatter the ratio.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { CrmRecord } from '../src/crm/connector.js';
import { encodeCopyValue } from '../src/crm/postgres/copy-encoding.js';
import type { ColumnMeta } from '../src/crm/postgres/introspect.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { compileToCrm } from '../src/mapping/apply.js';
import { validateMapping } from '../src/mapping/validate.js';
import { benchMapping, benchMarketoSchemas, syntheticMarketoLead } from './crm-fixtures.js';

export interface PlainCopyRate {
  /** Persons copied per round (every row of the person tables). */
  rows: number;
  /** Rows per second of the faster round. */
  rowsPerSecond: number;
  /** Columns per row of the table holding most of the persons. */
  columns: number;
  /** Per person table: rows and columns. */
  tables: { name: string; rows: number; columns: number }[];
  /** Seconds of each round. */
  rounds: number[];
}

const PERSON_TABLES = ['leads', 'contacts'] as const;

export async function measurePlainCopy(pool: pg.Pool, schema: string, roundsToRun = 2): Promise<PlainCopyRate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-copy-baseline-'));
  const client = await pool.connect();
  try {
    const tables: { name: string; file: string; rows: number; columns: number }[] = [];
    for (const table of PERSON_TABLES) {
      const source = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
      const { rows } = await client.query<{ n: string; columns: string }>(
        `SELECT (SELECT count(*) FROM ${source}) AS n,
                (SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped) AS columns`,
        [source],
      );
      const count = Number(rows[0]!.n);
      if (count === 0) continue;
      const file = path.join(dir, `${table}.copy`);
      await pipeline(client.query(copyTo(`COPY ${source} TO STDOUT`)), createWriteStream(file));
      tables.push({ name: table, file, rows: count, columns: Number(rows[0]!.columns) });
    }
    const total = tables.reduce((n, t) => n + t.rows, 0);
    if (total === 0) throw new Error(`no persons in ${schema}.leads or ${schema}.contacts to copy`);
    const rounds: number[] = [];
    for (let round = 0; round < roundsToRun; round++) {
      const targets = tables.map((t) => ({ ...t, target: pg.escapeIdentifier(`copy_baseline_${t.name}_${round}`) }));
      for (const t of targets) await client.query(`CREATE TABLE ${t.target} (LIKE ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(t.name)})`);
      const started = performance.now();
      for (const t of targets) await pipeline(createReadStream(t.file), client.query(copyFrom(`COPY ${t.target} FROM STDIN`)));
      rounds.push((performance.now() - started) / 1000);
      for (const t of targets) await client.query(`DROP TABLE ${t.target}`);
    }
    const widest = tables.reduce((a, b) => (b.rows > a.rows ? b : a));
    return { rows: total, rowsPerSecond: total / Math.min(...rounds), columns: widest.columns, tables: tables.map(({ name, rows, columns }) => ({ name, rows, columns })), rounds };
  } finally {
    client.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * COPYs records into a new unindexed plain table with the columns' types, `batch` records per COPY,
 * each line encoded as the connector encodes it; answers the seconds it took (table creation
 * excluded). The table is left for the caller.
 */
export async function copyRecordsUnindexed(client: pg.ClientBase, table: string, columns: ColumnMeta[], records: readonly CrmRecord[], batch: number): Promise<number> {
  const names = columns.map((c) => pg.escapeIdentifier(c.field.name)).join(', ');
  await client.query(`CREATE TABLE ${pg.escapeIdentifier(table)} (${columns.map((c) => `${pg.escapeIdentifier(c.field.name)} ${c.sqlType}`).join(', ')})`);
  const started = performance.now();
  for (let start = 0; start < records.length; start += batch) {
    const slice = records.slice(start, start + batch);
    // Lines built as they are sent, not kept per row: the baseline should not pay for garbage.
    const lines = function* () {
      let buf = '';
      for (const r of slice) {
        buf += columns.map((c) => encodeCopyValue(c, r[c.field.name]) as string).join('\t') + '\n';
        if (buf.length > 1 << 20) {
          yield buf;
          buf = '';
        }
      }
      if (buf) yield buf;
    };
    await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${pg.escapeIdentifier(table)} (${names}) FROM STDIN`)));
  }
  return (performance.now() - started) / 1000;
}

/** Synthetic Marketo leads mapped to CRM lead records by the CRM-side benchmark's mapping. */
export async function benchLeadRecords(crm: PostgresCrmConnector, rows: number): Promise<{ records: CrmRecord[]; columns: ColumnMeta[] }> {
  const describe = await crm.describe();
  const mapping = benchMapping(describe);
  const report = validateMapping(mapping, benchMarketoSchemas(), describe);
  if (report.errors.length) throw new Error(`bench mapping invalid: ${report.errors.join('; ')}`);
  const toCrm = compileToCrm(mapping, 'lead', 'lead', benchMarketoSchemas(), describe);
  const records = new Array<CrmRecord>(rows);
  for (let i = 0; i < rows; i++) {
    const mapped = toCrm(syntheticMarketoLead(i + 1));
    if (!mapped.ok) throw new Error(`row ${i}: ${mapped.errors.join('; ')}`);
    records[i] = mapped.record;
  }
  const leadTable = await crm.table('lead');
  const columns = Object.keys(records[0]!).map((name) => {
    const column = leadTable.columns.get(name);
    if (!column) throw new Error(`the bench mapping writes ${name}, which the CRM's lead table lacks`);
    return column;
  });
  return { records, columns };
}

/**
 * The CRM-side benchmark's COPY baseline (bench/crm-upsert.ts) on `rows` of its synthetic leads,
 * in the database at `connectionString` (its CRM schema is created if missing); faster of `rounds`.
 */
export async function crmSideCopyRate(connectionString: string, rows = 200_000, batch = 100_000, rounds = 2): Promise<{ rows: number; columns: number; rowsPerSecond: number; rounds: number[] }> {
  const crm = await PostgresCrmConnector.open({ connectionString });
  try {
    const { records, columns } = await benchLeadRecords(crm, rows);
    const client = await crm.pool.connect();
    try {
      const seconds: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const table = `copy_baseline_crm_side_${round}`;
        seconds.push(await copyRecordsUnindexed(client, table, columns, records, batch));
        await client.query(`DROP TABLE ${pg.escapeIdentifier(table)}`);
      }
      return { rows, columns: columns.length, rowsPerSecond: rows / Math.min(...seconds), rounds: seconds };
    } finally {
      client.release();
    }
  } finally {
    await crm.close();
  }
}
