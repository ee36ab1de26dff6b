/**
 * The emulator's CPU per exported lead row (issue 5: the emulator shares the bootstrap bench's
 * 2 cores with the system under test, so every microsecond it spends is stolen from it):
 *   npx tsx bench/emulator-export.ts [--leads 100000] [--years 5] [--rates 0,5000] [--rounds 2]
 *     [--jobs 2] [--ways baseline,current] [--fields id,email,…]
 * Seeds the emulator as bench/bootstrap.ts does (N leads over Y years, the seed's default
 * companies and salespersons), then writes the lead export files of every 31-day createdAt window,
 * with the fields the bootstrap's lead export asks for (the describe-suggested mapping's
 * exportFields, read from a throwaway CRM database on DATABASE_URL or the local cluster in
 * .data/bench-writes-postgres; `--fields` skips the database). Two ways, alternated in one process:
 *   - baseline: the implementation before session 5 (kept here only): one row at a time through
 *     an async generator → csv-stringify stream → hash tap → file, each cell from a generic
 *     leadValue lookup;
 *   - current: emulator/bulk (export-sources.ts + export-file.ts) as the service runs it.
 * Per way and rate: process CPU (user + system) per exported row, wall time, and whether every
 * window's file is byte-identical between the ways (sha256, size, record count).
 * At a rate > 0 `jobs` windows are written at once (Marketo processes 2 export jobs at a time).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import { stringify } from 'csv-stringify';
import pg from 'pg';
import { z } from 'zod';
import { writeExportFile, type Cell, type ExportSource, type ProcessingRate } from '../emulator/bulk/export-file.js';
import type { ProducedFile } from '../emulator/bulk/export-jobs.js';
import { leadExport } from '../emulator/bulk/export-sources.js';
import { startEmulator } from '../emulator/index.js';
import type { Subscription } from '../emulator/subscription.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { loadPersonMapping } from '../src/reconcile/person-mapping.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';

const WAYS = ['baseline', 'current'] as const;
type Way = (typeof WAYS)[number];
const items = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  years: z.coerce.number().int().min(1).max(15),
  rates: items.transform((a) => a.map(Number)).pipe(z.array(z.number().int().min(0)).min(1)),
  rounds: z.coerce.number().int().min(1),
  jobs: z.coerce.number().int().min(1).max(10),
  ways: items.pipe(z.array(z.enum(WAYS)).min(1)),
  fields: items.pipe(z.array(z.string().min(1)).min(1)).optional(),
});

const cli = new Command()
  .option('--leads <n>', 'seeded leads', '100000')
  .option('--years <n>', 'years the leads are created over (the bootstrap bench default)', '5')
  .option('--rates <list>', 'export processing rates to measure, rows/s (0 = unpaced)', '0,5000')
  .option('--rounds <n>', 'times to run the ways (alternated)', '2')
  .option('--jobs <n>', 'windows written at once at a rate > 0', '2')
  .option('--ways <list>', `ways to run, in this order each round (${WAYS.join(', ')})`, WAYS.join(','))
  .option('--fields <list>', 'lead fields to export (default: the bootstrap mapping’s exportFields)');
const opts = Options.parse(cli.parse(process.argv).opts());
const log = (line: string) => process.stdout.write(line + '\n');

// ─────────────── baseline: the implementation before session 5 ───────────────

const BASELINE_DELIMITERS = { CSV: ',', TSV: '\t', SSV: ';' } as const;
const COMPANY_FIELDS = new Set(['company', 'annualRevenue', 'industry', 'numberOfEmployees', 'site', 'billingStreet', 'billingCity', 'billingState', 'billingCountry', 'billingPostalCode', 'mainPhone', 'sicCode', 'website']);

function baselineIsoZ(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19) + 'Z';
}

function baselineLeadValue(sub: Subscription, id: number, field: string): Cell {
  if (field === 'createdAt') return baselineIsoZ(sub.leads.createdAt(id));
  if (field === 'updatedAt') return baselineIsoZ(sub.leads.updatedAt(id));
  if (field === 'leadPartitionId') return sub.leads.partitionOf(id);
  if (COMPANY_FIELDS.has(field)) {
    // The old companyValuesForLead: a dedupe-index lookup per company cell.
    const ext = sub.leads.value(id, 'externalCompanyId');
    const company = ext === null ? undefined : sub.findObjectByKey('Company', 'dedupeFields', { externalCompanyId: String(ext) })?.values;
    if (company) return company[field] ?? null;
  }
  return sub.leads.value(id, field);
}

function baselineLeadSource(sub: Subscription, fields: readonly string[], window: { start: number; end: number }): ExportSource {
  return {
    header: [...fields],
    rows: (function* () {
      for (const id of sub.leads.ids()) {
        if (!sub.leads.exists(id)) continue;
        const t = sub.leads.createdAt(id);
        if (t < window.start || t > window.end) continue;
        yield fields.map((f) => {
          const v = baselineLeadValue(sub, id, f);
          return v === undefined ? null : v;
        });
      }
    })(),
  };
}

function baselineCellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return 'null';
  return typeof value === 'string' ? value : String(value);
}

async function baselineWriteExportFile(source: ExportSource, options: { path: string; rate: ProcessingRate; signal: AbortSignal }): Promise<ProducedFile> {
  const sleep = (ms: number) => delay(ms, undefined, { signal: options.signal });
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  const started = Date.now();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const { rowsPerSecond, bytesPerSecond } = options.rate;
  async function* lines(): AsyncGenerator<string[]> {
    yield source.header;
    for (const row of source.rows) {
      options.signal.throwIfAborted();
      yield row.map(baselineCellText);
      rows++;
      if (rowsPerSecond > 0 || bytesPerSecond > 0) {
        const due = Math.max(rowsPerSecond > 0 ? (rows / rowsPerSecond) * 1000 : 0, bytesPerSecond > 0 ? (bytes / bytesPerSecond) * 1000 : 0);
        const ahead = due - (Date.now() - started);
        if (ahead >= 10) await sleep(ahead);
      }
    }
  }
  try {
    await pipeline(lines(), stringify({ delimiter: BASELINE_DELIMITERS.CSV, record_delimiter: '\n' }), tap, createWriteStream(options.path), { signal: options.signal });
  } catch (error) {
    await rm(options.path, { force: true });
    throw error;
  }
  return { path: options.path, numberOfRecords: rows, fileSize: bytes, sha256: hash.digest('hex') };
}

// ─────────────── setup ───────────────

const to = new Date(Date.UTC(2026, 0, 1));
const from = new Date(to.getTime() - opts.years * 365 * 86_400_000);
log(`seeding ${opts.leads} leads over ${opts.years} years…`);
const emulator = await startEmulator({ clientId: 'ee-id', clientSecret: 'ee-secret', seed: { leads: opts.leads, from: from.toISOString(), to: to.toISOString() } });
const sub = emulator.subscription;
log(`seeded: ${JSON.stringify(emulator.seedSummary)}`);

async function bootstrapLeadFields(): Promise<string[]> {
  const local = process.env.DATABASE_URL ? undefined : await ensureLocalPostgres({ dataDir: '.data/bench-writes-postgres' });
  const base = process.env.DATABASE_URL ?? local!.url;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const db = `bench_export_fields_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  try {
    const url = new URL(base);
    url.pathname = `/${db}`;
    const crm = await PostgresCrmConnector.open({ connectionString: url.toString() });
    try {
      const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'ee-id', clientSecret: 'ee-secret' });
      return (await loadPersonMapping({ marketo, crm, currentMapping: async () => undefined }, { csv: true })).exportFields;
    } finally {
      await crm.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}

const fields = opts.fields ?? (await bootstrapLeadFields());
log(`fields (${fields.length}): ${fields.join(',')}`);

/** 31-day createdAt windows over the seeded range, as the bootstrap's lead phase asks for them. */
const WINDOW_S = 31 * 86_400;
const windows: { startAt: string; endAt: string; start: number; end: number }[] = [];
for (let s = Math.floor(from.getTime() / 1000); s <= to.getTime() / 1000; s += WINDOW_S) {
  const e = s + WINDOW_S - 1;
  windows.push({ startAt: new Date(s * 1000).toISOString().replace('.000Z', 'Z'), endAt: new Date(e * 1000).toISOString().replace('.000Z', 'Z'), start: s, end: e });
}
const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-emulator-export-'));
const features = { updatedAtFilter: true, smartListFilters: false };

async function writeWindow(way: Way, w: (typeof windows)[number], rate: ProcessingRate, file: string): Promise<ProducedFile> {
  const signal = new AbortController().signal;
  if (way === 'baseline') return baselineWriteExportFile(baselineLeadSource(sub, fields, w), { path: file, rate, signal });
  const spec = leadExport(sub, { fields, format: 'CSV', filter: { createdAt: { startAt: w.startAt, endAt: w.endAt } } }, features);
  return writeExportFile(spec.source(), { path: file, format: spec.format, rate, signal });
}

/** Every window's file per rate, as the first way wrote it: the other ways must match it byte for byte. */
const reference = new Map<string, ProducedFile>();
const mismatches: string[] = [];

async function run(way: Way, rowsPerSecond: number): Promise<{ rows: number; cpuUs: number; wallMs: number; bytes: number }> {
  const rate = { rowsPerSecond, bytesPerSecond: 0 };
  const parallel = rowsPerSecond > 0 ? opts.jobs : 1;
  let next = 0;
  let rows = 0;
  let bytes = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < windows.length) {
        const i = next++;
        const file = path.join(dir, `${way}-${rowsPerSecond}-${i}.csv`);
        const out = await writeWindow(way, windows[i]!, rate, file);
        await rm(file, { force: true });
        rows += out.numberOfRecords;
        bytes += out.fileSize;
        const key = `${rowsPerSecond}:${i}`;
        const ref = reference.get(key);
        if (!ref) reference.set(key, out);
        else if (ref.sha256 !== out.sha256 || ref.fileSize !== out.fileSize || ref.numberOfRecords !== out.numberOfRecords) mismatches.push(`${way} window ${i} at ${rowsPerSecond} rows/s`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rows, cpuUs: used.user + used.system, wallMs: performance.now() - started, bytes };
}

const results = new Map<string, number[]>();
try {
  for (let round = 1; round <= opts.rounds; round++) {
    for (const rate of opts.rates) {
      for (const way of opts.ways) {
        const r = await run(way, rate);
        const perRow = r.cpuUs / r.rows;
        const key = `${way} @ ${rate}`;
        results.set(key, [...(results.get(key) ?? []), perRow]);
        log(`round ${round} ${way.padEnd(8)} rate ${String(rate).padStart(5)}: ${r.rows} rows in ${windows.length} files (${(r.bytes / 1e6).toFixed(1)} MB), wall ${(r.wallMs / 1000).toFixed(2)} s, CPU ${(r.cpuUs / 1e6).toFixed(2)} s = ${perRow.toFixed(2)} µs/row`);
      }
    }
  }
  log(`\nload average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  };
  for (const [key, perRow] of results) log(`${key.padEnd(18)} CPU µs/row: ${perRow.map((x) => x.toFixed(2)).join(', ')} (median ${median(perRow).toFixed(2)}, best ${Math.min(...perRow).toFixed(2)})`);
  for (const rate of opts.rates) {
    const base = results.get(`baseline @ ${rate}`);
    const cur = results.get(`current @ ${rate}`);
    if (base && cur) log(`rate ${rate}: baseline / current = ${(median(base) / median(cur)).toFixed(2)}x (medians), ${(Math.min(...base) / Math.min(...cur)).toFixed(2)}x (bests)`);
  }
  log(opts.ways.length > 1 ? (mismatches.length ? `FILES DIFFER: ${mismatches.join('; ')}` : 'files byte-identical between the ways (sha256, size, records) in every window') : '');
} finally {
  await rm(dir, { recursive: true, force: true });
  await emulator.close();
}
if (mismatches.length) process.exitCode = 1;
