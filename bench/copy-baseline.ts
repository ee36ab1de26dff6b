/**
 * The CRM's plain COPY rate for exactly the persons a bootstrap wrote: the baseline of issue 5's
 * ingest ratio, measured in the same process run as the ingest it judges (same machine, same
 * moment, same cluster), instead of a figure carried over from another benchmark's rows.
 *
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
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

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
