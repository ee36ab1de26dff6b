/**
 * The bootstrap's person write path on its own, no Temporal (issue 5's ingest ratio):
 *   npx tsx bench/bootstrap-writes.ts [--windows 3] [--window-rows 17000] [--batch 2000]
 *     [--write-concurrency 2] [--loaded 0.7] [--ways general,session5,new] [--rounds 1]
 *     [--companies 20000] [--salespersons 5000] [--encode-only]
 * Shaped like one moment of the 1M bootstrap: `windows` lead windows of `window-rows` persons
 * ingest at once, each in batches of `batch` with `write-concurrency` batch writes in flight (what
 * ingestBulkExport does), with a share `loaded` of the companies and salespersons the persons name
 * already loaded (the sales phases load them while leads stream in). The rows are the emulator's
 * lead export file (CSV text made from its subscription with the describe-suggested mapping's
 * fields) parsed by the ingest's parser, so both ways get what the sink gets.
 * Each way writes into a fresh database (CRM and state store in one, as the bench and compose
 * run them), in one process so the machine's load weighs on both alike:
 *   - general: writeLeadBatch's general path (mapping objects, connector upsert, id map link,
 *     ledger, staging: separate transactions);
 *   - session5: the co-located path with the encoder session 5 left (a result object per cell,
 *     `checkValue`, array literals appended element by element);
 *   - new: the co-located single-transaction path, as the sink runs it.
 * First, the two encoders alone, without a database: CPU per person to encode every row, build
 * the statement's parameters and measure and copy them as the driver does (--encode-only stops
 * there). BENCH_MARKS=1 prints each write phase on the monotonic clock, to cut a `perf record -k
 * mono` or --cpu-prof profile to it.
 * (Session 5's figures compared `new` with the co-located path as session 4 left it, a `baseline`
 * way that was removed with that statement afterwards: check out 10b608b to run it again.)
 * Printed per way: rows/s of the writes, the CPU the database server (every process of the local
 * cluster) and this process spent per person while writing, the busy time of each step (summed
 * over batches; steps of one batch may overlap), the link steps that finish the references, and
 * a digest of the CRM's persons (mapped values with account and owner as Marketo keys) that must
 * be equal for all ways.
 * Uses DATABASE_URL, or a local cluster in .data/bench-writes-postgres.
 */
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import pg from 'pg';
import { z } from 'zod';
import { writeLeadBatch, type LeadSinkDeps, type WriteProfile } from '../activities/bootstrap-leads.js';
import { colocatedPersonWriter, statementParams } from '../activities/bootstrap-person-batch.js';
import { compilePersonBatchEncoder, personColumns, stepColumns, type EncodedPersons, type PersonBatchEncoder, type PersonBatchEncoderFactory } from '../activities/bootstrap-person-encoder.js';
import { createSalesActivities } from '../activities/bootstrap-sales.js';
import { BootstrapStaging, type LoadedTargets } from '../activities/bootstrap-staging.js';
import { startEmulator } from '../emulator/index.js';
import { arrayLiteral } from '../src/crm/postgres/bulk-upsert.js';
import { checkValue, type Checked } from '../src/crm/postgres/copy-encoding.js';
import type { ColumnMeta } from '../src/crm/postgres/introspect.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { routeLead, type MarketoRecord } from '../src/mapping/apply.js';
import type { Transformed } from '../src/mapping/transforms.js';
import { createExportParser } from '../src/marketo/bulk/parser.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { MarketoClient } from '../src/marketo/index.js';
import { textOrNull } from '../src/marketo/values.js';
import { loadPersonMapping, type MappedPerson, type PersonMapping, type PersonType } from '../src/reconcile/person-mapping.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import { StateStore } from '../src/store/state-store.js';
import { clusterCpu, postmasterPid } from './cluster-cpu.js';

const WAYS = ['general', 'session5', 'new'] as const;
type WayName = (typeof WAYS)[number];

const Options = z.object({
  windows: z.coerce.number().int().min(1),
  windowRows: z.coerce.number().int().min(100),
  batch: z.coerce.number().int().min(100),
  writeConcurrency: z.coerce.number().int().min(1),
  loaded: z.coerce.number().min(0).max(1),
  ways: z.string().transform((s, ctx) => {
    const names = s.split(',').map((w) => w.trim());
    for (const n of names) if (!(WAYS as readonly string[]).includes(n)) ctx.addIssue({ code: 'custom', message: `--ways: unknown way '${n}' (${WAYS.join(', ')})` });
    return names as WayName[];
  }),
  rounds: z.coerce.number().int().min(1),
  companies: z.coerce.number().int().min(1).optional(),
  salespersons: z.coerce.number().int().min(1).optional(),
  encodeOnly: z.boolean().default(false),
});

const cli = new Command()
  .option('--windows <n>', 'lead windows ingesting at once', '3')
  .option('--window-rows <n>', 'persons per window (17,000 at 1M leads over 5 years)', '17000')
  .option('--batch <n>', 'rows per batch write (the bootstrap bench default)', '2000')
  .option('--write-concurrency <n>', 'batch writes in flight per window', '2')
  .option('--loaded <share>', 'share of the named companies and salespersons loaded before the persons are written', '0.7')
  .option('--ways <list>', `ways to run, in this order each round (${WAYS.join(', ')})`, 'general,new')
  .option('--rounds <n>', 'times to run the ways (alternated)', '1')
  // The 1M run names 20,000 companies and 5,000 salespersons; the emulator's default is leads/50 and leads/200.
  .option('--companies <n>', 'companies the leads name (default: leads/50)')
  .option('--salespersons <n>', 'salespersons the leads name (default: leads/200)')
  .option('--encode-only', 'measure the encoders alone and stop (no writes)');
const opts = Options.parse(cli.parse(process.argv).opts());
const log = (line: string) => process.stdout.write(line + '\n');
const leads = opts.windows * opts.windowRows;

const emulator = await startEmulator({
  clientId: 'bw-id',
  clientSecret: 'bw-secret',
  seed: {
    leads,
    ...(opts.companies ? { companies: opts.companies } : {}),
    ...(opts.salespersons ? { salespersons: opts.salespersons } : {}),
    opportunities: 0,
    programs: 0,
    lists: 0,
    customObjects: 0,
    changeRate: 0,
  },
});
const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'bw-id', clientSecret: 'bw-secret' });
const localPg = process.env.DATABASE_URL ? undefined : await ensureLocalPostgres({ dataDir: '.data/bench-writes-postgres' });
const baseUrl = process.env.DATABASE_URL ?? localPg!.url;
const admin = new pg.Client({ connectionString: baseUrl });
await admin.connect();
const databases: string[] = [];

async function freshDatabase(name: string): Promise<{ store: StateStore; crm: PostgresCrmConnector }> {
  const db = `bench_writes_${name.toLowerCase()}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  databases.push(db);
  // BENCH_EXPLAIN=<ms>: the server logs the plan, with trigger times, of every statement slower than that.
  if (process.env.BENCH_EXPLAIN) {
    const ms = z.coerce.number().int().min(0).parse(process.env.BENCH_EXPLAIN);
    await admin.query(`ALTER DATABASE ${db} SET session_preload_libraries = 'auto_explain'`);
    for (const [k, v] of [['log_min_duration', `${ms}ms`], ['log_analyze', 'on'], ['log_triggers', 'on'], ['log_buffers', 'on']]) await admin.query(`ALTER DATABASE ${db} SET auto_explain.${k} = '${v}'`);
  }
  const url = new URL(baseUrl);
  url.pathname = `/${db}`;
  return { store: await StateStore.open({ connectionString: url.toString() }), crm: await PostgresCrmConnector.open({ connectionString: url.toString() }) };
}

/**
 * CPU time (ms) of every process of the database cluster so far: the postmaster with its exited
 * children, plus the live ones (backends, WAL writer, checkpointer, autovacuum). Undefined when
 * the server is not on this machine or its processes cannot be read.
 */
async function serverCpuMs(pool: pg.Pool): Promise<number | undefined> {
  const postmaster = await postmasterPid(pool);
  if (postmaster === undefined) return undefined;
  return (await clusterCpu(postmaster).catch(() => undefined))?.clusterMs;
}

/** Busy time per step, summed over calls (calls of one batch may overlap). */
class Spans {
  readonly ms = new Map<string, number>();
  add(step: string, ms: number): void {
    this.ms.set(step, (this.ms.get(step) ?? 0) + ms);
  }
  async time<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.add(step, performance.now() - t);
    }
  }
  line(order: readonly string[], rows: number): string {
    const known = [...order, ...[...this.ms.keys()].filter((k) => !order.includes(k))].filter((k) => this.ms.has(k));
    return known.map((k) => `${k} ${(this.ms.get(k)! / 1000).toFixed(2)} s (${((this.ms.get(k)! / rows) * 1000).toFixed(0)} µs/row)`).join(', ');
  }
}

/** Baseline deps with every step timed: the mapping per row, each repository call per batch. */
function timedBaseline(deps: LeadSinkDeps, mapping: PersonMapping, spans: Spans): { deps: LeadSinkDeps; mapping: PersonMapping } {
  const { crm, store, staging } = deps;
  const timedStaging = Object.assign(Object.create(staging) as BootstrapStaging, {
    stage: (...a: Parameters<BootstrapStaging['stage']>) => spans.time('staging', () => staging.stage(...a)),
    loadedTargets: (...a: Parameters<BootstrapStaging['loadedTargets']>) => spans.time('targets', () => staging.loadedTargets(...a)),
  });
  const errors = Object.assign(Object.create(store.errors) as StateStore['errors'], {
    record: (...a: Parameters<StateStore['errors']['record']>) => spans.time('ledger', () => store.errors.record(...a)),
    resolveRecords: (...a: Parameters<StateStore['errors']['resolveRecords']>) => spans.time('ledger', () => store.errors.resolveRecords(...a)),
  });
  const idMap = Object.assign(Object.create(store.idMap) as StateStore['idMap'], {
    link: (...a: Parameters<StateStore['idMap']['link']>) => spans.time('id map', () => store.idMap.link(...a)),
  });
  return {
    deps: {
      crm: { upsert: (...a) => spans.time('CRM', () => crm.upsert(...a)), getRecords: (...a) => crm.getRecords(...a) },
      store: { errors, idMap },
      staging: timedStaging,
    },
    mapping: {
      ...mapping,
      map(row: MarketoRecord): MappedPerson {
        const t = performance.now();
        const out = mapping.map(row);
        spans.add('map', performance.now() - t);
        return out;
      },
    },
  };
}

/**
 * The co-located path's encoder as session 5 left it (the `session5` way): per cell the mapping's
 * `convert` (a result object per value), `checkValue`, and the connector's `arrayLiteral`
 * appended one element at a time; the keys read in a pass of their own.
 */
const session5Encoder: PersonBatchEncoderFactory = (mapping, tables) => {
  interface TypeEncoder {
    columns: ColumnMeta[];
    key: ColumnMeta;
    steps: { from: string; convert: (value: unknown) => Transformed; onNull: Transformed; column: number }[];
    nullChecked: Checked[];
    absentWhenNull: boolean[];
    converted: unknown[];
  }
  interface Batch {
    mids: string[];
    companyKeys: (string | null)[];
    salesKeys: (string | null)[];
    values: (string | null)[][];
    seen: Set<string>;
  }
  const lead = personColumns(mapping, 'lead', tables.lead);
  const contact = personColumns(mapping, 'contact', tables.contact);
  if (!lead || !contact || lead.key.field.name !== contact.key.field.name) return undefined;
  const compile = (type: PersonType): TypeEncoder => {
    const shape = type === 'lead' ? lead : contact;
    const { steps, required } = mapping.plan[type];
    const targets = stepColumns(mapping, shape);
    const requiredNonBoolean = new Set(required.filter((r) => !r.boolean).map((r) => r.name));
    return {
      columns: shape.columns,
      key: shape.key,
      steps: steps.map((s, i) => ({ from: s.from, convert: s.convert, onNull: s.convert(null), column: targets[i]! })),
      nullChecked: shape.columns.map((c) => checkValue(c, null)),
      absentWhenNull: shape.columns.map((c) => requiredNonBoolean.has(c.field.name)),
      converted: shape.columns.map(() => undefined),
    };
  };
  const encoders = { lead: compile('lead'), contact: compile('contact') };
  function encodeRow(enc: TypeEncoder, row: RecordRow, marketoId: string, batch: Batch, scratch: (string | null)[]): 'ok' | 'fallback' | Pick<RecordFailure, 'source' | 'code' | 'reason'> {
    scratch.length = enc.columns.length;
    const converted = enc.converted;
    let errors: string[] | undefined;
    for (const step of enc.steps) {
      const raw = row[step.from];
      if (raw === undefined) return 'fallback';
      const t = raw === null ? step.onNull : step.convert(raw);
      if (!t.ok) (errors ??= []).push(t.error);
      else if (step.column >= 0) converted[step.column] = t.value;
    }
    if (errors) return { source: 'marketo', code: 'MAPPING', reason: errors.join('; ') };
    const keyChecked = checkValue(enc.key, Number(marketoId));
    if (keyChecked === null || typeof keyChecked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: keyChecked?.error ?? `key field '${enc.key.field.name}' is empty` };
    if (batch.seen.has(keyChecked)) return { source: 'crm', code: 'DUPLICATE_IN_BATCH', reason: `another record of this batch has the same '${enc.key.field.name}'` };
    for (let c = 0; c < enc.columns.length; c++) {
      const value = converted[c];
      if (value === null || value === undefined) {
        if (enc.absentWhenNull[c]) return 'fallback';
        const checked = enc.nullChecked[c]!;
        if (checked !== null && typeof checked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: checked.error };
        scratch[c] = checked;
        continue;
      }
      const checked = checkValue(enc.columns[c]!, value);
      if (checked !== null && typeof checked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: checked.error };
      scratch[c] = checked;
    }
    batch.seen.add(keyChecked);
    batch.mids.push(keyChecked);
    for (let c = 0; c < scratch.length; c++) batch.values[c]!.push(scratch[c]!);
    return 'ok';
  }
  const encoder: PersonBatchEncoder = {
    lead,
    contact,
    encode(rows, operation) {
      const batches: Record<PersonType, Batch> = {
        lead: { mids: [], companyKeys: [], salesKeys: [], values: lead.columns.map(() => []), seen: new Set() },
        contact: { mids: [], companyKeys: [], salesKeys: [], values: contact.columns.map(() => []), seen: new Set() },
      };
      const failures: RecordFailure[] = [];
      const companyKeys = new Set<string>();
      const salesKeys = new Set<string>();
      const scratch: (string | null)[] = [];
      for (const row of rows) {
        const marketoId = textOrNull(row.id);
        if (marketoId === null) return undefined;
        const type = routeLead(mapping.config, row);
        const ck = textOrNull(row.externalCompanyId);
        const sk = textOrNull(row.externalSalesPersonId);
        if (ck !== null) companyKeys.add(ck);
        if (sk !== null) salesKeys.add(sk);
        const outcome = encodeRow(encoders[type], row, marketoId, batches[type], scratch);
        if (outcome === 'fallback') return undefined;
        if (outcome !== 'ok') {
          failures.push({ entity: type, recordKey: marketoId, operation, ...outcome });
          continue;
        }
        batches[type].companyKeys.push(ck);
        batches[type].salesKeys.push(sk);
      }
      const done = (b: Batch): EncodedPersons => ({ mids: b.mids, companyKeys: b.companyKeys, salesKeys: b.salesKeys, columns: b.values.map((v) => arrayLiteral(v)) });
      return { lead: done(batches.lead), contact: done(batches.contact), failures, companyKeys, salesKeys };
    },
  };
  return encoder;
};

interface EncodeCost {
  /** ms over all rows: this process' CPU, then the wall time of each part. */
  cpu: number;
  encode: number;
  params: number;
  bind: number;
}

/**
 * One encoder over every row, in batches of --batch, without a database: the encoding, the
 * statement's parameters, and what the driver does with each (pg's bind measures every string
 * and writes it into its buffer, flattening a string appended piece by piece first).
 */
function encodeOnly(encoder: PersonBatchEncoder, rows: readonly RecordRow[], targets: LoadedTargets): EncodeCost {
  const buffer = Buffer.alloc(16 << 20);
  const cost = { cpu: 0, encode: 0, params: 0, bind: 0 };
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rows.length; i += opts.batch) {
    const t0 = performance.now();
    const batch = encoder.encode(rows.slice(i, i + opts.batch), 'bootstrap');
    if (!batch) throw new Error('the encoder handed a batch back');
    const t1 = performance.now();
    const params = statementParams('bench', 'bootstrap', batch, targets);
    const t2 = performance.now();
    let offset = 0;
    for (const p of params) if (p !== null) offset += Buffer.byteLength(p) + buffer.write(p, offset % (8 << 20));
    const t3 = performance.now();
    cost.encode += t1 - t0;
    cost.params += t2 - t1;
    cost.bind += t3 - t2;
  }
  const cpu = process.cpuUsage(cpu0);
  cost.cpu = (cpu.user + cpu.system) / 1000;
  return cost;
}

/** Writes one window the way ingestBulkExport does: batches in order, up to `concurrency` in flight. */
async function writeWindow(rows: readonly RecordRow[], write: (batch: RecordRow[]) => Promise<{ written: number; failed: number }>): Promise<{ written: number; failed: number }> {
  const inFlight = new Set<Promise<void>>();
  let written = 0;
  let failed = 0;
  for (let i = 0; i < rows.length; i += opts.batch) {
    if (inFlight.size >= opts.writeConcurrency) await Promise.race(inFlight);
    const p: Promise<void> = write(rows.slice(i, i + opts.batch)).then((out) => {
      written += out.written;
      failed += out.failed;
      inFlight.delete(p);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return { written, failed };
}

try {
  const first = await freshDatabase('mapping');
  const mapping = await loadPersonMapping({ marketo, crm: first.crm, currentMapping: async () => undefined }, { csv: true });
  const tables = { lead: await first.crm.table('lead'), contact: await first.crm.table('contact') };
  await first.store.close();
  await first.crm.close();

  // The export file as the emulator writes it ('null' for empty cells), then the ingest's parser.
  const sub = emulator.subscription;
  const ids = [...sub.leads.ids()].sort((a, b) => a - b);
  const fields = mapping.exportFields;
  const cells = ids.map((id) => fields.map((f) => {
    const v = sub.leadValue(id, f);
    return v === null || v === undefined || v === '' ? 'null' : String(v);
  }));
  const csv = stringify([fields, ...cells], { record_delimiter: '\n' });
  const tParse = performance.now();
  const parser = createExportParser({ kind: 'leads', format: 'CSV' });
  const rows: RecordRow[] = [];
  Readable.from([csv]).pipe(parser.stream);
  for await (const item of parser.stream as AsyncIterable<{ row?: RecordRow }>) if (item.row) rows.push(item.row);
  const parseMs = performance.now() - tParse;
  log(`seeded ${JSON.stringify(emulator.seedSummary)}; ${fields.length} columns, ${(csv.length / 1e6).toFixed(1)} MB of CSV`);
  log(`parse (csv-parse + row schema, the ingest's parser): ${rows.length} rows in ${(parseMs / 1000).toFixed(2)} s (${((parseMs / rows.length) * 1000).toFixed(0)} µs/row)`);
  const windows = Array.from({ length: opts.windows }, (_, w) => rows.slice(w * opts.windowRows, (w + 1) * opts.windowRows));

  // The same share of targets for every way: every n-th distinct key.
  const pick = (keys: Iterable<string | null | undefined>) => [...new Set([...keys].filter((k): k is string => !!k))].sort().filter((_, i, all) => Math.floor((i + 1) * opts.loaded) > Math.floor(i * opts.loaded) || all.length === 1 && opts.loaded > 0);
  const loadedCompanies = pick(rows.map((r) => r.externalCompanyId));
  const loadedOwners = pick(rows.map((r) => r.externalSalesPersonId));
  log(`loaded before the writes: ${loadedCompanies.length} companies, ${loadedOwners.length} salespersons (share ${opts.loaded})`);
  log(`${opts.windows} windows × ${opts.windowRows} persons at once, batches of ${opts.batch}, ${opts.writeConcurrency} writes in flight per window; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  // The encoders alone, best of three passes each, alternated.
  const targets: LoadedTargets = { companies: new Map(loadedCompanies.map((k, i) => [k, `A${i}`])), salesPersons: new Map(loadedOwners.map((k, i) => [k, `U${i}`])) };
  const encoders = { session5: session5Encoder, new: compilePersonBatchEncoder };
  const best = new Map<string, EncodeCost>();
  for (let pass = 0; pass < 3; pass++) {
    for (const [name, factory] of Object.entries(encoders)) {
      const cost = encodeOnly(factory(mapping, tables)!, rows, targets);
      const prev = best.get(name);
      if (!prev || cost.cpu < prev.cpu) best.set(name, cost);
    }
  }
  for (const [name, c] of best) {
    const us = (ms: number) => `${((ms / rows.length) * 1000).toFixed(1)} µs`;
    log(`encoder ${name.padEnd(8)} (no database, best of 3): CPU ${us(c.cpu)} per person; wall: encode ${us(c.encode)}, parameters ${us(c.params)}, driver's measure and copy ${us(c.bind)}`);
  }

  const digests = new Map<string, string>();

  async function run(way: WayName, round: number): Promise<void> {
    const name = `${way}${round}`;
    const { store, crm } = await freshDatabase(name);
    const staging = new BootstrapStaging(store.pool, store.schema);
    const sales = createSalesActivities({ marketo, store, crm });
    const runId = `bench-${name}`;
    await store.pool.query(`INSERT INTO ${staging.keys} (run_id, kind, key) SELECT $1, * FROM unnest($2::text[], $3::text[])`, [
      runId,
      [...loadedCompanies.map(() => 'company'), ...loadedOwners.map(() => 'salesPerson')],
      [...loadedCompanies, ...loadedOwners],
    ]);
    for (const kind of ['company', 'salesPerson'] as const) while ((await sales.loadSalesObjects({ runId, kind, maxKeys: 3000 })).taken === 3000);

    const spans = new Spans();
    const profile: WriteProfile = { add: (step, ms) => spans.add(step, ms) };
    const plain: LeadSinkDeps = { crm, store, staging };
    const baseline = timedBaseline(plain, mapping, spans);
    // session5: the co-located writer with session 5's encoder; a batch it hands back goes the general way, as in the sink.
    const session5 = way === 'session5' ? await colocatedPersonWriter(crm, staging, store.errors, mapping, { encoder: session5Encoder }) : undefined;
    const write = async (batch: RecordRow[]) => {
      if (way === 'general') return writeLeadBatch(baseline.deps, baseline.mapping, runId, batch, { colocated: false });
      if (way === 'session5') return (await session5!.write(runId, batch, profile)) ?? writeLeadBatch(plain, mapping, runId, batch, { colocated: false });
      return writeLeadBatch(plain, mapping, runId, batch, { profile });
    };
    const load = (await import('node:os')).loadavg()[0]!;
    const server0 = await serverCpuMs(store.pool);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const outs = await Promise.all(windows.map((w) => writeWindow(w, write)));
    const writeMs = performance.now() - t0;
    // BENCH_MARKS=1: the write phase on the monotonic clock in µs, as a --cpu-prof profile's sample times count.
    if (process.env.BENCH_MARKS) log(`marks ${name} ${process.hrtime.bigint() / 1000n - BigInt(Math.round(writeMs * 1000))} ${process.hrtime.bigint() / 1000n}`);
    const server1 = await serverCpuMs(store.pool);
    const self = process.cpuUsage(self0);
    const written = outs.reduce((n, o) => n + o.written, 0);
    const failed = outs.reduce((n, o) => n + o.failed, 0);

    // What is left: the other targets, then the link steps.
    for (const kind of ['company', 'salesPerson'] as const) while ((await sales.loadSalesObjects({ runId, kind, maxKeys: 3000 })).taken === 3000);
    const t1 = performance.now();
    let linked = 0;
    for (;;) {
      const out = await sales.linkSalesReferences({ runId, target: 'contactAccounts', limit: 10_000 });
      linked += out.written;
      if (out.taken < 10_000) break;
    }
    const linkMs = performance.now() - t1;
    const { rows: facts } = await crm.pool.query<{ persons: string; unlinked: string; idmap: string; staged: string; digest: string }>(
      `SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS persons,
              (SELECT count(*) FROM crm.contacts WHERE account_id IS NULL OR owner_id IS NULL) AS unlinked,
              (SELECT count(*) FROM ${store.schema}.id_map WHERE entity = 'lead') AS idmap,
              (SELECT count(*) FROM ${staging.personRefs} WHERE run_id = $1) AS staged,
              (SELECT md5(string_agg(p::text, E'\\n' ORDER BY p.marketo_lead_id)) FROM (
                 SELECT 'L' AS t, l.marketo_lead_id, (to_jsonb(l) - '{id,created_at,updated_at,origin,owner_id}'::text[]) AS v, u.external_sales_person_id AS owner, NULL AS account
                   FROM crm.leads l LEFT JOIN crm.users u ON u.id = l.owner_id
                 UNION ALL
                 SELECT 'C', c.marketo_lead_id, (to_jsonb(c) - '{id,created_at,updated_at,origin,owner_id,account_id}'::text[]), u.external_sales_person_id, a.external_company_id
                   FROM crm.contacts c LEFT JOIN crm.users u ON u.id = c.owner_id LEFT JOIN crm.accounts a ON a.id = c.account_id) p) AS digest`,
      [runId],
    );
    const f = facts[0]!;
    digests.set(name, f.digest);
    log(
      `${name.padEnd(10)} ${written} written, ${failed} failed in ${(writeMs / 1000).toFixed(2)} s = ${(written / (writeMs / 1000)).toFixed(0)} rows/s (load ${load.toFixed(2)})\n` +
        `           CPU per person while writing: Postgres ${server0 === undefined || server1 === undefined ? 'n/a (not a local cluster)' : `${(((server1 - server0) / (written + failed)) * 1000).toFixed(0)} µs`}, this process ${(((self.user + self.system) / 1000 / (written + failed)) * 1000).toFixed(0)} µs\n` +
        `           busy: ${spans.line(['map', 'targets', 'CRM', 'id map', 'staging', 'ledger'], written + failed)}\n` +
        `           then link steps: ${linked} persons in ${(linkMs / 1000).toFixed(2)} s; CRM persons ${f.persons}, id map ${f.idmap}, staged ${f.staged}, contacts without account or owner ${f.unlinked}; digest ${f.digest}`,
    );
    await store.close();
    await crm.close();
  }

  if (!opts.encodeOnly) {
    for (let round = 1; round <= opts.rounds; round++) for (const way of opts.ways) await run(way, round);
    const distinct = new Set(digests.values());
    log(distinct.size === 1 ? 'every way left the same CRM persons (digest equal)' : `DIGESTS DIFFER: ${JSON.stringify(Object.fromEntries(digests))}`);
    if (distinct.size !== 1) process.exitCode = 1;
  }
} finally {
  await emulator.close();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  if (localPg?.startedHere) await localPg.stop();
}
