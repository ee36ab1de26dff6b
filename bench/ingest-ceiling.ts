/**
 * The ceiling of the bootstrap's lead ingest on this machine (issue 5):
 *   npx tsx bench/ingest-ceiling.ts [--leads 1000000] [--years 5] [--batch 2000] [--write-concurrency 2]
 *     [--marketo-calls 10000] [--no-decompose] [--keep-files <dir>]
 * One process run, one Postgres cluster, the same export files throughout:
 *   0. the emulator is seeded as bench/bootstrap.ts seeds it; the lead export files for the
 *      product's mapping (`loadPersonMapping(...).exportFields`, the bootstrap's 31-day createdAt
 *      windows) are fetched through the project's Marketo client and bulk download, unpaced, and
 *      kept on disk (checked against Marketo's size and sha256). A template database gets the
 *      CRM and state schemas and the companies and salespersons the leads name, loaded as the
 *      sales phases load them (each way below starts from a copy, so every person is written
 *      linked, as in a bootstrap with the preload).
 *   1. the baseline: the CRM-side benchmark's COPY (`crmSideCopyRate`, bench/copy-baseline.ts).
 *   2. today's path without Temporal: the product's export parser and `writeLeadBatch` (the
 *      co-located batch statement), batches of --batch with --write-concurrency writes in flight
 *      per file, 1 file at a time and 2 files at once.
 *   3. the SQL route (bench/ingest-ceiling-sql.ts): COPY of the file bytes into an UNLOGGED
 *      staging table of text, then one INSERT ... SELECT per person table with its id map rows,
 *      the pending references and the keys, on 1 connection and on 2 connections (each its own
 *      half of the files, so its own id range), each stage timed.
 *   Every way's CRM persons, id map and staging rows are compared by digest; any difference
 *   fails the run. Then, on the SQL route's database, what the remaining costs are: the person
 *   inserts again into the CRM tables without the id map, and into unindexed copies of the
 *   tables (no indexes, foreign keys or triggers), logged and unlogged.
 * Printed per way: rows/s and its ratio to (1), CPU per row of the database's backends, of the
 * whole cluster (WAL writer, checkpointer, autovacuum included) and of this process, the rows/s
 * the machine's cores could reach on that CPU alone, and the load average. The backends' figure
 * counts only backends alive at the end: the product's pool closes connections idle for 10 s, and
 * their CPU is then in the cluster's figure only (quote that one for today's path). Uses DATABASE_URL, or its own cluster in .data/ingest-ceiling-postgres (fsync off, as
 * every local bench cluster here); the cluster CPU figures are only this run's on its own cluster.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import { writeLeadBatch, type LeadSinkDeps } from '../activities/bootstrap-leads.js';
import { createSalesActivities } from '../activities/bootstrap-sales.js';
import { BootstrapStaging } from '../activities/bootstrap-staging.js';
import { configureBulk } from '../emulator/bulk/service.js';
import { startEmulator } from '../emulator/index.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { BulkExtractApi, createExportParser, planWindows, type DateWindow, type RecordRow } from '../src/marketo/bulk/index.js';
import { MarketoClient } from '../src/marketo/index.js';
import { loadPersonMapping, type PersonMapping } from '../src/reconcile/person-mapping.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { StateStore } from '../src/store/state-store.js';
import { crmSideCopyRate, measurePlainCopy } from './copy-baseline.js';
import { clusterCpu, postmasterPid, processCpuMs } from './cluster-cpu.js';
import { ingestDigest } from './ingest-ceiling-digest.js';
import { sqlRoute, type SqlRoute } from './ingest-ceiling-sql.js';

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  years: z.coerce.number().int().min(1).max(15),
  batch: z.coerce.number().int().min(100),
  writeConcurrency: z.coerce.number().int().min(1),
  marketoCalls: z.coerce.number().int().min(100),
  decompose: z.boolean(),
  keepFiles: z.string().min(1).optional(),
});

const cli = new Command()
  .option('--leads <n>', 'leads in the emulator', '1000000')
  .option('--years <n>', 'years the createdAt dates span (as bench/bootstrap.ts)', '5')
  .option('--batch <n>', "rows per batch write of today's path", '2000')
  .option('--write-concurrency <n>', "batch writes in flight per file on today's path (the bootstrap bench's default)", '2')
  // The files do not depend on Marketo's call budget; waiting it out only lengthens the untimed part.
  .option('--marketo-calls <n>', "the emulator's and client's calls per 20 s while the files are fetched and the targets loaded", '10000')
  .option('--no-decompose', 'skip the runs without id map and into unindexed tables')
  .option('--keep-files <dir>', 'write the export files into this folder and keep them (default: a temporary folder, removed)');
const opts = Options.parse(cli.parse(process.argv).opts());
const log = (line: string) => process.stdout.write(line + '\n');
const RUN_ID = 'ingest-ceiling';
const CLIENT = { clientId: 'ceiling-id', clientSecret: 'ceiling-secret' };

interface ExportFile {
  path: string;
  rows: number;
  bytes: number;
}

/** One window's lead export: create, enqueue, wait, then the file's bytes to disk, checked against the job's size and sha256. */
async function exportWindow(api: BulkExtractApi, window: DateWindow, fields: string[], file: string): Promise<ExportFile> {
  const target = { kind: 'leads' } as const;
  const created = await api.create(target, { format: 'CSV', fields, filter: { createdAt: window } });
  await api.enqueueWhenSlotFree(target, created.exportId, { queueFullRetryMs: 200 });
  const job = await api.waitUntilDone(target, created.exportId, { pollIntervalMs: 50 });
  if (job.status !== 'Completed') throw new Error(`export of ${window.startAt}…${window.endAt} ended ${job.status}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(await api.fileOpener(target, job.exportId)(0), tap, createWriteStream(file));
  const checksum = `sha256:${hash.digest('hex')}`;
  if (job.fileSize !== undefined && job.fileSize !== bytes) throw new Error(`${file}: ${bytes} bytes, the job says ${job.fileSize}`);
  if (job.fileChecksum !== undefined && job.fileChecksum !== checksum) throw new Error(`${file}: checksum ${checksum}, the job says ${job.fileChecksum}`);
  return { path: file, rows: job.numberOfRecords ?? 0, bytes };
}

/** The first line of a file: its header (field names, no quoting needed for Marketo's REST names). */
async function headerOf(file: string): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    const line = text.slice(0, text.indexOf('\n'));
    const names = line.split(',');
    for (const n of names) if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(n)) throw new Error(`${file}: header column ${JSON.stringify(n)} is not a plain field name`);
    return names;
  } finally {
    await handle.close();
  }
}

/** Files in `parts` contiguous groups of about equal rows (files come in createdAt order, so in id order). */
function split(files: readonly ExportFile[], parts: number): ExportFile[][] {
  const total = files.reduce((n, f) => n + f.rows, 0);
  const groups: ExportFile[][] = Array.from({ length: parts }, () => []);
  let seen = 0;
  for (const f of files) {
    groups[Math.min(parts - 1, Math.floor(((seen + f.rows / 2) / total) * parts))]!.push(f);
    seen += f.rows;
  }
  return groups;
}

function dbUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Measured {
  rows: number;
  seconds: number;
  backendsMs: number | undefined;
  clusterMs: number | undefined;
  selfMs: number;
  load: [number, number];
}

/** Runs `fn` between two samples of the clock, the cluster's CPU (this database's backends and all of it) and this process' CPU. */
async function measure(postmaster: number | undefined, database: string, fn: () => Promise<number>): Promise<Measured> {
  const load0 = os.loadavg()[0]!;
  const cpu0 = postmaster ? await clusterCpu(postmaster, database) : undefined;
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu1 = postmaster ? await clusterCpu(postmaster, database) : undefined;
  return {
    rows,
    seconds,
    backendsMs: cpu0 && cpu1 ? cpu1.backendsMs - cpu0.backendsMs : undefined,
    clusterMs: cpu0 && cpu1 ? cpu1.clusterMs - cpu0.clusterMs : undefined,
    selfMs: (self.user + self.system) / 1000,
    load: [load0, os.loadavg()[0]!],
  };
}

interface Way {
  name: string;
  measured: Measured;
  stages?: string[];
  facts: Record<string, string>;
}

async function main(): Promise<void> {
  const to = new Date('2026-01-01T00:00:00Z');
  const from = new Date(to.getTime() - opts.years * 365 * 86_400_000);
  const localPg = process.env.DATABASE_URL ? undefined : await ensureLocalPostgres({ dataDir: '.data/ingest-ceiling-postgres' });
  const baseUrl = process.env.DATABASE_URL ?? localPg!.url;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const databases: string[] = [];
  const createDatabase = async (name: string, template?: string) => {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ''}`);
    databases.push(name);
    return dbUrl(baseUrl, name);
  };
  const dir = opts.keepFiles ? path.resolve(opts.keepFiles) : await mkdtemp(path.join(os.tmpdir(), 'ingest-ceiling-'));
  await mkdir(dir, { recursive: true });
  const stamp = Date.now();
  const templateName = `ingest_ceiling_template_${stamp}`;

  log(`seeding ${opts.leads} leads over ${opts.years} years (as bench/bootstrap.ts)…`);
  const emulator = await startEmulator({ ...CLIENT, seed: { leads: opts.leads, from: from.toISOString(), to: to.toISOString() }, limits: { rateLimitCalls: opts.marketoCalls } });
  try {
    await configureBulk(emulator.subscription, { export: { rowsPerSecond: 0 } });
    log(`seeded: ${JSON.stringify(emulator.seedSummary)}`);
    const marketo = new MarketoClient({ baseUrl: emulator.url, ...CLIENT, limits: { callsPerWindow: opts.marketoCalls } });

    // The template: schemas, the mapping, and the companies and salespersons the leads name.
    const templateUrl = await createDatabase(templateName);
    const store = await StateStore.open({ connectionString: templateUrl });
    const crm = await PostgresCrmConnector.open({ connectionString: templateUrl });
    const staging = new BootstrapStaging(store.pool, store.schema);
    const stateSchema = store.schema;
    const mapping: PersonMapping = await loadPersonMapping({ marketo, crm, currentMapping: async () => undefined }, { csv: true });
    const tables = { lead: await crm.table('lead'), contact: await crm.table('contact') };

    // 0. The export files, two jobs at a time (Marketo processes two).
    const windows = planWindows({ startAt: from, endAt: to });
    const api = new BulkExtractApi(marketo);
    const t0 = performance.now();
    const files: ExportFile[] = new Array<ExportFile>(windows.length);
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        for (let i = next++; i < windows.length; i = next++) files[i] = await exportWindow(api, windows[i]!, mapping.exportFields, path.join(dir, `leads-${String(i).padStart(3, '0')}.csv`));
      }),
    );
    const nonEmpty = files.filter((f) => f.rows > 0);
    const totalRows = nonEmpty.reduce((n, f) => n + f.rows, 0);
    const totalBytes = nonEmpty.reduce((n, f) => n + f.bytes, 0);
    log(`export files: ${nonEmpty.length} of ${windows.length} windows hold rows, ${totalRows} rows, ${(totalBytes / 1e6).toFixed(1)} MB, ${mapping.exportFields.length} columns, in ${((performance.now() - t0) / 1000).toFixed(1)} s (unpaced) in ${dir}`);
    if (totalRows !== opts.leads) throw new Error(`the files hold ${totalRows} rows for ${opts.leads} leads`);
    const header = await headerOf(nonEmpty[0]!.path);
    for (const f of nonEmpty.slice(1)) if ((await headerOf(f.path)).join(',') !== header.join(',')) throw new Error(`${f.path}: another header than ${nonEmpty[0]!.path}`);
    const route: SqlRoute = sqlRoute(mapping, tables, crm.schema, staging, header);

    // The keys the leads name (read by Postgres from the files) and their records loaded from Marketo, as the preload does.
    {
      const client = await store.pool.connect();
      try {
        await client.query(route.stagingDdl('ceiling_keys_stage'));
        for (const f of nonEmpty) await pipeline(createReadStream(f.path), client.query(copyFrom(route.copy('ceiling_keys_stage'))));
        await client.query(route.keys('ceiling_keys_stage'), [RUN_ID]);
        await client.query('DROP TABLE ceiling_keys_stage');
      } finally {
        client.release();
      }
      const sales = createSalesActivities({ marketo, store, crm });
      const loaded: Record<string, number> = {};
      for (const kind of ['company', 'salesPerson'] as const) {
        loaded[kind] = 0;
        for (;;) {
          const out = await sales.loadSalesObjects({ runId: RUN_ID, kind, maxKeys: 3000 });
          loaded[kind] += out.written;
          if (out.taken < 3000) break;
        }
      }
      log(`loaded before the persons (as the preload does): ${loaded.company} companies, ${loaded.salesPerson} salespersons`);
    }
    await store.close();
    await crm.close();

    // 1. The baseline the issue names.
    const crmSide = await crmSideCopyRate(await createDatabase(`ingest_ceiling_copy_${stamp}`));
    log(`(1) CRM-side benchmark's COPY (crmSideCopyRate, ${crmSide.rows} synthetic leads, ${crmSide.columns} columns): ${crmSide.rowsPerSecond.toFixed(0)} rows/s (rounds ${crmSide.rounds.map((r) => r.toFixed(2)).join(', ')} s)`);

    const ways: Way[] = [];
    let plainCopy: Awaited<ReturnType<typeof measurePlainCopy>> | undefined;

    // 2. Today's path without Temporal.
    for (const filesAtOnce of [1, 2]) {
      const name = `product_${filesAtOnce}`;
      const dbName = `ingest_ceiling_${name}_${stamp}`;
      const url = await createDatabase(dbName, templateName);
      const wayStore = await StateStore.open({ connectionString: url });
      const wayCrm = await PostgresCrmConnector.open({ connectionString: url });
      const wayStaging = new BootstrapStaging(wayStore.pool, wayStore.schema);
      const deps: LeadSinkDeps = { crm: wayCrm, store: wayStore, staging: wayStaging };
      const postmaster = await postmasterPid(wayCrm.pool);
      await admin.query('CHECKPOINT');
      let written = 0;
      let failed = 0;
      const ingestFile = async (file: ExportFile) => {
        const parser = createExportParser({ kind: 'leads', format: 'CSV' });
        const source = createReadStream(file.path);
        source.once('error', (err) => parser.stream.destroy(err));
        source.pipe(parser.stream);
        const inFlight = new Set<Promise<void>>();
        const launch = async (rows: RecordRow[]) => {
          while (inFlight.size >= opts.writeConcurrency) await Promise.race(inFlight);
          const p: Promise<void> = writeLeadBatch(deps, mapping, RUN_ID, rows).then((out) => {
            written += out.written;
            failed += out.failed;
            inFlight.delete(p);
          });
          inFlight.add(p);
        };
        let batch: RecordRow[] = [];
        for await (const item of parser.stream as AsyncIterable<{ row?: RecordRow; malformed?: { line: number; reason: string } }>) {
          if (item.malformed) throw new Error(`${file.path} line ${item.malformed.line}: ${item.malformed.reason}`);
          batch.push(item.row!);
          if (batch.length >= opts.batch) {
            await launch(batch);
            batch = [];
          }
        }
        if (batch.length > 0) await launch(batch);
        await Promise.all(inFlight);
      };
      const measured = await measure(postmaster, dbName, async () => {
        const queue = [...nonEmpty];
        await Promise.all(
          Array.from({ length: filesAtOnce }, async () => {
            for (let f = queue.shift(); f; f = queue.shift()) await ingestFile(f);
          }),
        );
        return written;
      });
      if (failed > 0) throw new Error(`${name}: ${failed} records failed`);
      const client = await wayCrm.pool.connect();
      const facts = await ingestDigest(client, wayCrm.schema, wayStaging, RUN_ID).finally(() => client.release());
      ways.push({ name: `today's path, ${filesAtOnce} file${filesAtOnce > 1 ? 's' : ''} at once`, measured, facts });
      if (filesAtOnce === 1) plainCopy = await measurePlainCopy(wayCrm.pool, 'crm');
      await wayStore.close();
      await wayCrm.close();
    }

    // 3. The SQL route.
    const decomposition: Way[] = [];
    for (const connections of [1, 2]) {
      const name = `sql_${connections}`;
      const dbName = `ingest_ceiling_${name}_${stamp}`;
      const url = await createDatabase(dbName, templateName);
      // CEILING_EXPLAIN=<ms>: the server logs the plan, with trigger times, of every statement slower than that.
      if (process.env.CEILING_EXPLAIN) {
        const ms = z.coerce.number().int().min(0).parse(process.env.CEILING_EXPLAIN);
        await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(dbName)} SET session_preload_libraries = 'auto_explain'`);
        for (const [k, v] of [['log_min_duration', `${ms}ms`], ['log_analyze', 'on'], ['log_triggers', 'on'], ['log_buffers', 'on']]) await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(dbName)} SET auto_explain.${k} = '${v}'`);
      }
      const clients = await Promise.all(
        Array.from({ length: connections }, async () => {
          const c = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
          await c.connect();
          // The product's writes carry this origin (inTransaction); the triggers stamp it into each row.
          await c.query(`SELECT set_config('crmsync.origin', 'sync', false)`);
          return c;
        }),
      );
      const wayStaging = new BootstrapStaging(new pg.Pool({ connectionString: url, max: 1 }), stateSchema);
      const postmaster = await postmasterPid(wayStaging.pool);
      await admin.query('CHECKPOINT');
      const groups = split(nonEmpty, connections);
      const stageTimes = groups.map(() => new Map<string, { ms: number; cpuMs: number | undefined }>());
      const backendPids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
      // Wall time and the connection's backend CPU per stage.
      const timed = async (i: number, stage: string, fn: () => Promise<unknown>) => {
        const cpu0 = await processCpuMs(backendPids[i]!);
        const t = performance.now();
        await fn();
        const ms = performance.now() - t;
        const cpu1 = await processCpuMs(backendPids[i]!);
        const prev = stageTimes[i]!.get(stage);
        const cpuMs = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 + (prev?.cpuMs ?? 0);
        stageTimes[i]!.set(stage, { ms: ms + (prev?.ms ?? 0), cpuMs });
      };
      const runGroup = async (i: number) => {
        const c = clients[i]!;
        const table = `ceiling_stage_${i}`;
        let persons = 0;
        await timed(i, 'COPY', async () => {
          await c.query(route.stagingDdl(table));
          for (const f of groups[i]!) await pipeline(createReadStream(f.path), c.query(copyFrom(route.copy(table))));
        });
        await timed(i, 'ANALYZE staging', () => c.query(`ANALYZE ${table}`));
        for (const type of ['lead', 'contact'] as const) {
          await timed(i, `${type}s + id map`, async () => {
            persons += (await c.query(route.persons(type, table), [RUN_ID])).rowCount ?? 0;
          });
        }
        await timed(i, 'pending refs', () => c.query(route.pendingRefs(table), [RUN_ID]));
        await timed(i, 'keys', () => c.query(route.keys(table), [RUN_ID]));
        return persons;
      };
      const measured = await measure(postmaster, dbName, async () => (await Promise.all(groups.map((_, i) => runGroup(i)))).reduce((n, p) => n + p, 0));
      const stages = stageTimes.map((m, i) => {
        const rows = groups[i]!.reduce((n, f) => n + f.rows, 0);
        return `connection ${i + 1} (${rows} rows), wall s / backend CPU µs per row: ${[...m].map(([k, t]) => `${k} ${(t.ms / 1000).toFixed(2)} s / ${t.cpuMs === undefined ? 'n/a' : ((t.cpuMs / rows) * 1000).toFixed(1)} µs`).join(', ')}`;
      });
      const facts = await ingestDigest(clients[0]!, 'crm', wayStaging, RUN_ID);
      ways.push({ name: `SQL route, ${connections} connection${connections > 1 ? 's' : ''}`, measured, stages, facts });

      // What the remaining costs are, on this database (its persons are digested already).
      if (opts.decompose && connections === 1) {
        const c = clients[0]!;
        const run = async (label: string, target: (type: 'lead' | 'contact') => string | undefined) => {
          await admin.query('CHECKPOINT');
          const m = await measure(postmaster, dbName, async () => {
            let n = 0;
            for (const type of ['lead', 'contact'] as const) {
              const t = target(type);
              n += (await c.query(route.persons(type, 'ceiling_stage_0', { ...(t ? { target: t } : {}), idMap: false }), [RUN_ID])).rowCount ?? 0;
            }
            return n;
          });
          decomposition.push({ name: label, measured: m, facts: {} });
        };
        await c.query(`TRUNCATE crm.leads, crm.contacts CASCADE`);
        await run('person inserts into the CRM tables, no id map', () => undefined);
        // The tables' own triggers off (touch_insert's WHEN is evaluated per row), the foreign keys' checks kept.
        await c.query(`TRUNCATE crm.leads, crm.contacts CASCADE`);
        await c.query(`ALTER TABLE crm.leads DISABLE TRIGGER USER; ALTER TABLE crm.contacts DISABLE TRIGGER USER`);
        await run('person inserts into the CRM tables, no id map, no user triggers (foreign-key checks kept)', () => undefined);
        await c.query(`ALTER TABLE crm.leads ENABLE TRIGGER USER; ALTER TABLE crm.contacts ENABLE TRIGGER USER`);
        // Replica mode fires no ordinary triggers: neither the foreign keys' checks nor touch_insert (superuser only).
        await c.query(`TRUNCATE crm.leads, crm.contacts CASCADE`);
        await c.query(`SET session_replication_role = replica`);
        await run('person inserts into the CRM tables, no id map, no triggers (no foreign-key checks)', () => undefined);
        await c.query(`SET session_replication_role = origin`);
        for (const unlogged of [false, true]) {
          for (const t of ['leads', 'contacts']) {
            await c.query(`DROP TABLE IF EXISTS crm.bare_${t}`);
            await c.query(`CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE crm.bare_${t} (LIKE crm.${t} INCLUDING DEFAULTS)`);
          }
          await run(`person inserts into ${unlogged ? 'UNLOGGED ' : ''}copies without indexes, foreign keys or triggers, no id map`, (type) => `crm.bare_${type}s`);
        }
      }
      for (let i = 0; i < connections; i++) await clients[i]!.query(`DROP TABLE IF EXISTS ceiling_stage_${i}`);
      await Promise.all(clients.map((c) => c.end()));
      await wayStaging.pool.end();
    }

    // 4. The table.
    const base = crmSide.rowsPerSecond;
    const cores = os.cpus().length;
    const us = (ms: number | undefined, rows: number) => (ms === undefined ? 'n/a' : `${((ms / rows) * 1000).toFixed(1)}`);
    const line = (w: Way) => {
      const m = w.measured;
      const rate = m.rows / m.seconds;
      // What the machine's cores could do if they did nothing else: the CPU per row of the cluster and this process, spread over all cores.
      const ceiling = m.clusterMs === undefined ? undefined : (cores * 1e6) / (((m.clusterMs + m.selfMs) / m.rows) * 1000);
      return `| ${w.name} | ${m.rows} | ${m.seconds.toFixed(2)} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)} | ${us(m.backendsMs, m.rows)} | ${us(m.clusterMs, m.rows)} | ${us(m.selfMs, m.rows)} | ${ceiling === undefined ? 'n/a' : `${ceiling.toFixed(0)} (${(ceiling / base).toFixed(2)})`} | ${m.load[0].toFixed(2)} → ${m.load[1].toFixed(2)} |`;
    };
    log('');
    log(`(1) CRM-side COPY ${base.toFixed(0)} rows/s; plain COPY of these ${plainCopy?.rows ?? '?'} persons (${plainCopy?.columns ?? '?'} columns, measurePlainCopy) ${plainCopy ? plainCopy.rowsPerSecond.toFixed(0) : '?'} rows/s`);
    log(`| way | rows | s | rows/s | ÷ CRM-side COPY | Postgres backends µs/row (live at the end) | whole cluster µs/row | this process µs/row | CPU-bound rows/s on ${cores} cores (÷ COPY) | load average (1 min) |`);
    log('|---|---|---|---|---|---|---|---|---|---|');
    for (const w of ways) log(line(w));
    for (const w of decomposition) log(line(w));
    for (const w of ways) for (const s of w.stages ?? []) log(`  ${w.name}: ${s}`);
    log('');
    const reference = JSON.stringify(ways[0]!.facts);
    for (const w of ways) log(`${w.name}: ${JSON.stringify(w.facts)}`);
    const differing = ways.filter((w) => JSON.stringify(w.facts) !== reference);
    if (differing.length > 0) throw new Error(`the ways left different CRM rows: ${differing.map((w) => w.name).join(', ')} differ from ${ways[0]!.name}`);
    log('every way left the same CRM persons, id map and staging rows (counts and digests equal)');
  } finally {
    await emulator.close();
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    if (!opts.keepFiles) await rm(dir, { recursive: true, force: true });
    if (localPg?.startedHere) await localPg.stop();
  }
}

await main();
