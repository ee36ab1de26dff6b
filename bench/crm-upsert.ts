/**
 * CRM write/read benchmark (acceptance point of the CRM connector):
 *   npx tsx bench/crm-upsert.ts [--rows 1000000] [--batch 100000]
 * In one process and one database: COPY N rows into an unindexed plain table (baseline), upsert
 * the same N mapped leads through the Postgres connector, then read N changes back through
 * readChanges. Reports rows/s and the ratios (goals: upsert ≥ 0.4 × COPY; read within the
 * same order of magnitude as the write). Uses DATABASE_URL, or starts a local cluster in .data/.
 */
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { benchLeadRecords, copyRecordsUnindexed } from './copy-baseline.js';

const Options = z.object({ rows: z.coerce.number().int().min(1000), batch: z.coerce.number().int().min(100).max(200_000) });

async function main(): Promise<void> {
  const cli = new Command().option('--rows <n>', 'rows to write and read', '1000000').option('--batch <n>', 'records per upsert call', '100000');
  const opts = Options.parse(cli.parse(process.argv).opts());
  const baseUrl = process.env.DATABASE_URL ?? (await ensureLocalPostgres({ dataDir: '.data/bench-postgres' })).url;
  const dbName = `bench_crm_${Date.now()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const log = (line: string) => process.stdout.write(line + '\n');
  try {
    const crm = await PostgresCrmConnector.open({ connectionString: url.toString() });
    try {
      await run(crm, url.toString(), opts.rows, opts.batch, log);
    } finally {
      await crm.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function run(crm: PostgresCrmConnector, url: string, rows: number, batch: number, log: (l: string) => void): Promise<void> {
  // Map Marketo leads to CRM lead records once; both the COPY baseline and the upsert get the same rows.
  let t = performance.now();
  const { records, columns } = await benchLeadRecords(crm, rows);
  const mapSeconds = (performance.now() - t) / 1000;
  log(`rows: ${rows}, batch: ${batch}, columns per row: ${columns.length}`);
  log(`map Marketo → CRM: ${fmt(rows / mapSeconds)} rows/s (${mapSeconds.toFixed(1)} s)`);

  // Baseline: the same rows, same column types, COPY into an unindexed plain table.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The baseline runs before the upsert and again after the read; the ratio uses the faster of
    // the two, so load on a shared machine cannot flatter the upsert.
    const copyBaseline = async (table: string): Promise<number> => {
      const seconds = await copyRecordsUnindexed(client, table, columns, records, batch);
      log(`COPY into unindexed table ${table}: ${fmt(rows / seconds)} rows/s (${seconds.toFixed(1)} s)`);
      return rows / seconds;
    };
    const copyBefore = await copyBaseline('copy_baseline_before');

    t = performance.now();
    let created = 0;
    for (let start = 0; start < rows; start += batch) {
      const results = await crm.upsert('lead', records.slice(start, start + batch), { keyField: 'marketo_lead_id' });
      for (const r of results) {
        if (r.status === 'failed') throw new Error(`upsert failed at ${start + r.index}: ${r.code} ${r.reason}`);
        if (r.status === 'created') created++;
      }
    }
    const upsertSeconds = (performance.now() - t) / 1000;
    const upsertRate = rows / upsertSeconds;
    log(`connector upsert (created ${created}): ${fmt(upsertRate)} rows/s (${upsertSeconds.toFixed(1)} s)`);

    t = performance.now();
    let read = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await crm.readChanges('lead', { cursor, limit: 10_000, includeOwnWrites: true });
      read += page.changes.length;
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    const readSeconds = (performance.now() - t) / 1000;
    const readRate = read / readSeconds;
    log(`readChanges (${read} changes): ${fmt(readRate)} rows/s (${readSeconds.toFixed(1)} s)`);
    if (read !== rows) throw new Error(`read ${read} changes, expected ${rows}`);
    const copyAfter = await copyBaseline('copy_baseline_after');
    const copyRate = Math.max(copyBefore, copyAfter);
    log(`ratio upsert / COPY: ${(upsertRate / copyRate).toFixed(2)} (goal ≥ 0.40; COPY = faster of ${fmt(copyBefore)} and ${fmt(copyAfter)} rows/s)`);
    log(`ratio read / upsert: ${(readRate / upsertRate).toFixed(2)} (goal: same order of magnitude, 0.1 – 10)`);
  } finally {
    await client.end();
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

await main();
