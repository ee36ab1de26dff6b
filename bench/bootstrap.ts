/**
 * Bootstrap benchmark (acceptance point of issue 5):
 *   npx tsx bench/bootstrap.ts [--leads 1000000] [--years 5] [--rate 5000] [--copy-rate 69738] [--batch 2000] [--ways fixed,estimate] (more: --help)
 * Seeds the emulator with N leads spread over Y years plus their companies, salespersons,
 * opportunities and roles (the seed's defaults: N/50, N/200, N/100, 2 per opportunity), sets the
 * emulator's export processing to `rate` rows/s per job, and runs the `bootstrap` workflow with
 * leads, companies, opportunities, roles and salespersons on a Temporal dev server, with a worker
 * in its own process (workflow code bundled once here, not in the worker) into a fresh Postgres
 * CRM. Reports: wall time / the lower bound of 2 concurrent export jobs (Σ exported rows /
 * 2·rate; goal ≤ 1.15), aggregate lead ingest rows/s (rows ÷ time any lead ingest ran) / the
 * CRM's plain COPY rate (from bench/crm-upsert.ts, goal ≥ 0.4), the worker's peak RSS (VmHWM;
 * goal ≤ 300 MB), and the API calls used / the minimum the plan needs; then the per-window
 * timeline and the worker's memory breakdown, Marketo's slot-busy share and the status calls per
 * export. The ingest is also set against the plain COPY of exactly the persons the run wrote
 * (bench/copy-baseline.ts), measured right after the run in the same process.
 * `--ways fixed,estimate` runs the whole load once per way of polling export status (the fixed
 * schedule; at each job's expected end), one after the other in this process, each with a fresh
 * emulator, CRM database and worker, so the two are compared under the same conditions.
 * Uses DATABASE_URL, or starts a local cluster in .data/.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { configureBulk } from '../emulator/bulk/service.js';
import { crmSideCopyRate, measurePlainCopy } from './copy-baseline.js';
import { startEmulator } from '../emulator/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import { workflowsPath } from '../workers/worker.js';
import type { BootstrapInput, BulkExportInput } from '../workflows/bootstrap-types.js';
import type { bulkExport } from '../workflows/bulk-export.js';
import { bootstrap } from '../workflows/index.js';
import { readProcStat } from './proc-stat.js';

const ENTITIES = ['leads', 'companies', 'opportunities', 'opportunityRoles', 'salesPersons'] as const;

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  years: z.coerce.number().int().min(1).max(15),
  rate: z.coerce.number().int().min(1),
  copyRate: z.coerce.number().positive(),
  batch: z.coerce.number().int().min(100),
  cachedWorkflows: z.coerce.number().int().min(1),
  cpuProf: z.string().min(1).optional(),
  timeline: z.string().min(1).optional(),
  workerRuntime: z.enum(['compiled', 'tsx']),
  workerHeapMb: z.coerce.number().int().min(32).optional(),
  workerSemiSpaceMb: z.coerce.number().int().min(1).max(64).optional(),
  writeConcurrency: z.coerce.number().int().min(1),
  heapSnapshotMb: z.coerce.number().int().min(1).optional(),
  jobsAtMarketo: z.coerce.number().int().min(1).max(10).optional(),
  maxChildren: z.coerce.number().int().min(1).optional(),
  rowsInFlight: z.coerce.number().int().min(100).optional(),
  inActivityMs: z.coerce.number().int().min(0),
  ways: z.string().transform((v, ctx) => {
    const ways = v.split(',').map((w) => w.trim());
    for (const w of ways) if (!POLL_WAYS.includes(w as PollWay)) ctx.addIssue({ code: 'custom', message: `--ways: '${w}' is not one of ${POLL_WAYS.join(', ')}` });
    return ways as PollWay[];
  }),
  events: z.string().transform((v, ctx) => {
    const list = v.split(',').map((w) => w.trim());
    for (const w of list) if (!EVENT_WAYS.includes(w as EventWay)) ctx.addIssue({ code: 'custom', message: `--events: '${w}' is not one of ${EVENT_WAYS.join(', ')}` });
    return list as EventWay[];
  }),
});

/**
 * The workflow code's session-7 changes to its Temporal cost, on (after) or off (before: the worker
 * declines their patch markers through patchActivationCallback, so the same bundle runs the code
 * paths of before). after-own-contexts: after, with a V8 context per workflow run instead of one
 * context shared by all (the SDK's reuseV8Context off).
 */
const EVENT_WAYS = ['before', 'after', 'after-own-contexts'] as const;
type EventWay = (typeof EVENT_WAYS)[number];
const SESSION_7_PATCHES = ['bulk-export-fewer-events'];

/** How the bootstrap polls export status: the fixed backoff (the session-5 way) or at each job's estimated end. */
const POLL_WAYS = ['fixed', 'estimate'] as const;
type PollWay = (typeof POLL_WAYS)[number];

/**
 * Compiles the project with its build config (as `npm run build` and the Docker image do) plus the
 * bench worker, into .data/ (inside the project, so imports find node_modules). Type errors
 * elsewhere in the checkout do not stop the emit; the worker then runs on plain node like
 * production, without tsx's loader.
 */
async function compileWorker(root: string, log: (line: string) => void): Promise<string> {
  const outDir = path.join(root, '.data', 'bench-build');
  await mkdir(outDir, { recursive: true });
  const dirs = ['workflows', 'activities', 'workers', 'client', 'src', 'emulator'];
  const config = {
    extends: path.join(root, 'tsconfig.build.json'),
    compilerOptions: { outDir, rootDir: root, sourceMap: false, incremental: true, tsBuildInfoFile: path.join(outDir, '.tsbuildinfo') },
    include: [...dirs.map((d) => path.join(root, d)), path.join(root, 'bench', 'bootstrap-worker.ts')],
  };
  const configPath = path.join(outDir, 'tsconfig.json');
  await writeFile(configPath, JSON.stringify(config));
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const tsc = spawn(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', configPath], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let errors = 0;
    tsc.stdout.on('data', (c: Buffer) => (errors += (c.toString().match(/error TS/g) ?? []).length));
    tsc.once('exit', (c) => {
      if (errors) log(`  (tsc reported ${errors} type errors in the checkout; emitted anyway)`);
      resolve(c);
    });
  });
  const entry = path.join(outDir, 'bench', 'bootstrap-worker.js');
  if (!existsSync(entry)) throw new Error(`compiling the worker failed (tsc exit ${code}): no ${entry}`);
  log(`compiled the worker in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return entry;
}

/** One export's life: Marketo's job times (emulator clock, epoch ms) and the ingest activity's. */
interface WindowTimes {
  kind: 'leads' | 'activities';
  rows: number;
  queuedAt: number;
  startedAt: number;
  finishedAt: number;
  ingestStart: number;
  ingestEnd: number;
  writeMs: number;
  /** When the parent expected the job Completed (epoch ms; absent without an estimate). */
  expectedReadyAt?: number;
}

/** Length of the union of intervals, and the longest stretch of overlap count. */
function union(intervals: [number, number][]): { covered: number; maxAtOnce: number } {
  const edges = intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let depth = 0;
  let covered = 0;
  let maxAtOnce = 0;
  let last = 0;
  for (const [t, d] of edges) {
    if (depth > 0) covered += t - last;
    depth += d;
    maxAtOnce = Math.max(maxAtOnce, depth);
    last = t;
  }
  return { covered, maxAtOnce };
}

/** Time within [from, to] during which fewer than `slots` of the intervals run. */
function idleSlotTime(intervals: [number, number][], slots: number, from: number, to: number): number {
  const edges = intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let depth = 0;
  let idle = 0;
  let last = from;
  for (const [t, d] of [...edges, [to, 0] as const]) {
    const at = Math.min(Math.max(t, from), to);
    if (depth < slots) idle += (slots - depth) * (at - last);
    depth += d;
    last = at;
  }
  return idle;
}

function quantiles(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? 0;
  return `median ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms, max ${q(1).toFixed(0)} ms`;
}

/** utime + stime of each thread of a process, in clock ticks. */
async function threadTicks(pid: number): Promise<Map<number, { comm: string; ticks: number }>> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const t = await readProcStat(`/proc/${pid}/task/${tid}/stat`);
    if (t) out.set(Number(tid), { comm: t.comm, ticks: t.utime + t.stime });
  }
  return out;
}

/**
 * The worker's CPU by thread between two samples, in seconds: its main thread, the workflow
 * thread (Node names its worker threads "node" too: the workflow thread is the "node" thread the
 * SDK starts after core's tokio threads), core's tokio threads, and the rest (V8's platform
 * threads, mostly GC, and libuv's pool).
 */
function workerThreadSplit(pid: number, before: Map<number, { comm: string; ticks: number }>, after: Map<number, { comm: string; ticks: number }>, tickHz: number): Record<string, number> {
  const firstTokio = Math.min(...[...after].filter(([, t]) => t.comm.startsWith('tokio')).map(([tid]) => tid));
  const split: Record<string, number> = { main: 0, 'workflow thread': 0, 'core (tokio)': 0, 'V8 platform, libuv pool, other': 0 };
  for (const [tid, t] of after) {
    const ticks = t.ticks - (before.get(tid)?.ticks ?? 0);
    const role = tid === pid ? 'main' : t.comm.startsWith('tokio') ? 'core (tokio)' : t.comm === 'node' && tid > firstTokio ? 'workflow thread' : 'V8 platform, libuv pool, other';
    split[role] = split[role]! + ticks / tickHz;
  }
  return split;
}

/** The Temporal dev server this process started (a child process running `temporal server start-dev`). */
async function devServerPid(): Promise<number | undefined> {
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readProcStat(d);
    if (stat?.ppid !== process.pid) continue;
    const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
    if (/start-dev/.test(cmd)) return Number(d);
  }
  return undefined;
}

async function processTicks(pid: number | undefined): Promise<number> {
  const stat = pid === undefined ? undefined : await readProcStat(pid);
  return stat ? stat.utime + stat.stime : NaN;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function rssMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Event types by name (EVENT_TYPE_ prefix dropped). */
function eventTypeName(type: number | null | undefined): string {
  return (proto.temporal.api.enums.v1.EventType[type ?? 0] ?? `EVENT_TYPE_${type}`).replace(/^EVENT_TYPE_/, '');
}

/** What a run cost Temporal, from the histories of every workflow execution on its task queue. */
interface HistoryCounts {
  /** Executions by workflow type. */
  executions: Record<string, number>;
  /** Events by type, all executions together. */
  byType: Record<string, number>;
  /** Events by workflow type. */
  byWorkflow: Record<string, { events: number; workflowTasks: number }>;
  total: number;
  /** Events of the largest execution per workflow type. */
  largest: Record<string, number>;
}

/**
 * Lists the run's executions (the dev server's visibility, by task queue) and counts the events of
 * each history. Children are listed too, since they run on the parent's task queue.
 */
async function historyCounts(client: Client, taskQueue: string): Promise<HistoryCounts> {
  const out: HistoryCounts = { executions: {}, byType: {}, byWorkflow: {}, total: 0, largest: {} };
  const ids: { workflowId: string; type: string }[] = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) ids.push({ workflowId: w.workflowId, type: w.type });
  // A few at a time: the parent's history alone is many MB at 1M leads.
  for (let i = 0; i < ids.length; i += 16) {
    const histories = await Promise.all(ids.slice(i, i + 16).map(async (w) => ({ ...w, events: (await client.workflow.getHandle(w.workflowId).fetchHistory()).events ?? [] })));
    for (const h of histories) {
      out.executions[h.type] = (out.executions[h.type] ?? 0) + 1;
      const per = (out.byWorkflow[h.type] ??= { events: 0, workflowTasks: 0 });
      per.events += h.events.length;
      out.total += h.events.length;
      out.largest[h.type] = Math.max(out.largest[h.type] ?? 0, h.events.length);
      for (const e of h.events) {
        const name = eventTypeName(e.eventType);
        out.byType[name] = (out.byType[name] ?? 0) + 1;
        if (name === 'WORKFLOW_TASK_COMPLETED') per.workflowTasks += 1;
      }
    }
  }
  return out;
}

/** Prometheus text → the worker's workflow counters (core's metrics: activations, tasks, sticky cache). */
function workerWorkflowCounters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(temporal_(?:workflow|sticky)[a-z_]*?(?:_count|_total)?)(?:\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (!m || /_bucket$/.test(m[1]!)) continue;
    if (!/_count$|_total$|^temporal_sticky_cache_(hit|miss|forced_eviction)/.test(m[1]!)) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

async function main(): Promise<void> {
  const cli = new Command()
    .option('--leads <n>', 'leads in the emulator', '1000000')
    .option('--years <n>', 'years the createdAt dates span', '5')
    .option('--rate <n>', "emulator export processing, rows/s per job", '5000')
    .option('--copy-rate <n>', 'plain COPY rows/s from bench/crm-upsert.ts on this machine', '69738')
    .option('--batch <n>', 'rows per CRM write in the ingest', '2000')
    .option('--cached-workflows <n>', "the worker's workflow cache (each cached run holds its state in memory)", '100')
    .option('--cpu-prof <dir>', "write the worker's V8 CPU profile into this folder (on its exit)")
    .option('--timeline <file>', 'write every export\'s job and ingest times to this JSON file')
    .option('--worker-runtime <how>', 'compiled: tsc output on plain node, as production runs (Dockerfile); tsx: from source', 'compiled')
    .option('--worker-heap-mb <n>', "the worker's --max-old-space-size (rows in flight are bounded: downloads × (write concurrency + 1) × batch; 128 holds 100k leads, not 1M)", '256')
    .option('--worker-semi-space-mb <n>', "the worker's --max-semi-space-size (V8's young generation), as docker-compose's NODE_OPTIONS sets it", '4')
    .option('--write-concurrency <n>', 'batch writes of one download in flight at once', '2')
    .option('--heap-snapshot-mb <n>', 'the worker writes one heap snapshot (into .data/) when its heap first passes this')
    .option('--jobs-at-marketo <n>', "the bootstrap's jobsAtMarketo (default: the workflow's)")
    .option('--max-children <n>', "the bootstrap's maxChildren (default: the workflow's)")
    .option('--rows-in-flight <n>', "the worker's row budget: rows parsed but not yet written, all downloads together (default: a quarter of its heap limit at 4 KB a row)")
    .option('--in-activity-ms <n>', 'each window first waits for its job in one polling activity for up to this long (0: durable timers only)', '600000')
    .option('--events <list>', `Temporal cost, one full run each per poll way: ${EVENT_WAYS.join(', ')} (before: the workflows' session-7 patches declined)`, 'after')
    .option('--ways <list>', `status polls, one full run each in this process, in this order: ${POLL_WAYS.join(', ')} (fixed: the poll schedule alone; estimate: at each job's expected end)`, 'estimate');
  const opts = Options.parse(cli.parse(process.argv).opts());
  const log = (line: string) => process.stdout.write(line + '\n');
  const root = fileURLToPath(new URL('..', import.meta.url));

  const to = new Date('2026-01-01T00:00:00Z');
  const from = new Date(to.getTime() - opts.years * 365 * 86_400_000);
  const baseUrl = process.env.DATABASE_URL ?? (await ensureLocalPostgres({ dataDir: '.data/bench-postgres' })).url;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();

  // Bundled once here: a worker that webpacks the workflow code itself holds the bundler's memory.
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => log(m) } });
  const bundlePath = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-bundle-')), 'workflows.js');
  await writeFile(bundlePath, bundle.code);

  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal') } });
  const serverPid = await devServerPid();
  if (serverPid === undefined) log('(the dev server process was not found: its CPU is not reported)');
  const taskQueue = 'bench-bootstrap';
  const profiling = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProf)}`] : [];
  const heap = [...(opts.workerHeapMb ? [`--max-old-space-size=${opts.workerHeapMb}`] : []), ...(opts.workerSemiSpaceMb ? [`--max-semi-space-size=${opts.workerSemiSpaceMb}`] : [])];
  const entry = opts.workerRuntime === 'compiled' ? [await compileWorker(root, log)] : ['--import', 'tsx', 'bench/bootstrap-worker.ts'];
  log(`worker: node ${[...profiling, ...heap, ...entry].join(' ')}`);

  try {
    for (const way of opts.ways) for (const events of opts.events) await runWay(way, events);
  } finally {
    await env.teardown();
    await admin.end();
  }

  async function runWay(way: PollWay, events: EventWay): Promise<void> {
    const label = opts.events.length > 1 ? `${way}-${events}` : way;
    log(`\n=== status polls: ${way}; Temporal cost: ${events} ===`);
    log(`seeding ${opts.leads} leads over ${opts.years} years…`);
    const emulator = await startEmulator({ clientId: 'bench-id', clientSecret: 'bench-secret', seed: { leads: opts.leads, from: from.toISOString(), to: to.toISOString() } });
    const bulk = await configureBulk(emulator.subscription, { export: { rowsPerSecond: opts.rate } });
    log(`seeded: ${JSON.stringify(emulator.seedSummary)}`);

    const dbName = `bench_bootstrap_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(baseUrl);
    url.pathname = `/${dbName}`;

    // The worker's core metrics (workflow activations, tasks, sticky cache), scraped after the run.
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const worker = spawn(process.execPath, [...profiling, ...heap, ...entry], {
      cwd: root,
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: `${taskQueue}-${label}`, ...(events === 'before' ? { PATCHES_OFF: SESSION_7_PATCHES.join(',') } : {}), ...(events === 'after-own-contexts' ? { REUSE_V8_CONTEXT: 'false' } : {}), MARKETO_URL: emulator.url, DATABASE_URL: url.toString(), WORKFLOW_BUNDLE: bundlePath, BATCH_SIZE: String(opts.batch), WRITE_CONCURRENCY: String(opts.writeConcurrency), ...(opts.heapSnapshotMb ? { HEAP_SNAPSHOT_MB: String(opts.heapSnapshotMb) } : {}), CACHED_WORKFLOWS: String(opts.cachedWorkflows), METRICS_ADDRESS: metricsAddress, ...(opts.rowsInFlight ? { MAX_ROWS_IN_FLIGHT: String(opts.rowsInFlight) } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const memPeak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, native: 0 };
      const memSample = z.object({ rss: z.number(), heapUsed: z.number(), heapTotal: z.number(), external: z.number(), arrayBuffers: z.number() });
      let pending = '';
      worker.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.startsWith('heap snapshot') || line.startsWith('row budget')) log(line);
          if (!line.startsWith('mem ')) continue;
          const m = memSample.parse(JSON.parse(line.slice(4)));
          for (const k of ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'] as const) memPeak[k] = Math.max(memPeak[k], m[k]);
          memPeak.native = Math.max(memPeak.native, m.rss - m.heapTotal - m.external);
        }
      });
      await new Promise<void>((resolve, reject) => {
        worker.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
        worker.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('worker ready')) resolve();
        });
      });
      const workflowId = `bench-bootstrap-${label}`;
      const idleRss = await rssMb(worker.pid!, 'VmRSS');
      // VmHWM is the whole life of the worker process; sampling VmRSS shows the load itself.
      let sampledPeak = 0;
      const sampler = setInterval(() => {
        void rssMb(worker.pid!, 'VmRSS').then((mb) => (sampledPeak = Math.max(sampledPeak, mb)), () => undefined);
      }, 250);
      const started = Date.now();
      // CPU of the run itself (the bootstrap's execution), per process and per worker thread.
      const cpuBefore = { server: await processTicks(serverPid), worker: await threadTicks(worker.pid!), load: os.loadavg()[0]! };
      const result = await env.client.workflow.execute(bootstrap, {
        taskQueue: `${taskQueue}-${label}`,
        workflowId,
        args: [
          {
            since: from.toISOString(),
            highWatermark: to.toISOString().replace(/\.\d{3}Z$/, 'Z'),
            entities: Object.fromEntries(ENTITIES.map((e) => [e, { enabled: true }])) as BootstrapInput['entities'],
            // Scaled down with the emulator: polls stay well under one job's processing time.
            poll: { initialMs: 250, maxMs: 1_000, queueFullMs: 1_000, inActivityMs: opts.inActivityMs },
            ...(opts.jobsAtMarketo ? { jobsAtMarketo: opts.jobsAtMarketo } : {}),
            ...(opts.maxChildren ? { maxChildren: opts.maxChildren } : {}),
            pollByEstimate: way === 'estimate',
          },
        ],
      });
      const wallMs = Date.now() - started;
      const cpuAfter = { server: await processTicks(serverPid), worker: await threadTicks(worker.pid!), load: os.loadavg()[0]! };
      clearInterval(sampler);
      const rss = await rssMb(worker.pid!, 'VmHWM');
      const seeded = emulator.seedSummary!;
      const leadWindows = await Promise.all(
        Array.from({ length: result.progress.phases.leads!.windowsTotal }, (_, i) => env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/leads/${i}`).result()),
      );
      // The opportunities phase counts its Get steps as steps too: its export children are the first ones, one per lead window.
      const activityWindows = await Promise.all(leadWindows.map((_, i) => env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/opportunities/${i}`).result()));
      const exports = [...leadWindows, ...activityWindows];
      const rows = exports.reduce((n, w) => n + w.rows, 0);
      const leadRows = leadWindows.reduce((n, w) => n + w.rows, 0);
      const ingestMs = leadWindows.reduce((n, w) => n + (w.ingestMs ?? 0), 0);
      const boundMs = Math.max((rows / (2 * opts.rate)) * 1000, ...exports.map((w) => (w.rows / opts.rate) * 1000));
      const crmDb = new pg.Client({ connectionString: url.toString() });
      await crmDb.connect();
      const counted = (
        await crmDb.query<Record<string, string>>(
          `SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS persons, (SELECT count(*) FROM crm.accounts) AS accounts,
                  (SELECT count(*) FROM crm.users) AS users, (SELECT count(*) FROM crm.opportunities) AS opportunities,
                  (SELECT count(*) FROM crm.opportunity_contact_roles) AS roles, (SELECT count(*) FROM crm.contacts WHERE account_id IS NULL) AS unlinked_contacts`,
        )
      ).rows[0]!;
      await crmDb.end();
      // The ingest's baseline in the same run: the CRM's plain COPY of exactly these persons.
      const crmPool = new pg.Pool({ connectionString: url.toString(), max: 1 });
      const copy = await measurePlainCopy(crmPool, 'crm').finally(() => crmPool.end());
      // And the baseline the issue names: bench/crm-upsert.ts's COPY, run here on 200,000 of its
      // synthetic leads, so --copy-rate's carried figure is checked against today's machine.
      const crmSide = await crmSideCopyRate(url.toString());
      const endpoints = emulator.runtime.stats.snapshot().endpoints;
      const calls = Object.values(endpoints).reduce((n, e) => n + e.counted, 0);
      const owner = emulator.runtime.options.apiUserEmail;
      // Each window's estimate, from the input its child was started with.
      const converter = env.client.options.loadedDataConverter.payloadConverter;
      const estimates = await Promise.all(
        exports.map(async (w) => {
          const first = (await env.client.workflow.getHandle(`${workflowId}/${w.phase}/${w.index}`).fetchHistory()).events?.[0];
          const payload = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
          return payload ? converter.fromPayload<BulkExportInput>(payload).estimate : undefined;
        }),
      );
      const times: WindowTimes[] = exports.map((w, i) => {
        const kind = i < leadWindows.length ? 'leads' : 'activities';
        const job = bulk.exports.status(owner, kind, undefined, w.exportId);
        const estimate = estimates[i];
        return { kind, rows: w.rows, queuedAt: job.queuedAt ?? NaN, startedAt: job.startedAt ?? NaN, finishedAt: job.finishedAt ?? NaN, ingestStart: w.startedAt ?? NaN, ingestEnd: w.finishedAt ?? NaN, writeMs: w.writeMs ?? NaN, ...(estimate ? { expectedReadyAt: estimate.readyAt } : {}) };
      });
      if (opts.timeline) {
        const file = opts.ways.length * opts.events.length > 1 ? opts.timeline.replace(/(\.json)?$/, `-${label}$1`) : opts.timeline;
        await writeFile(file, JSON.stringify({ way, started, wallMs, times }, null, 1));
      }
      const leadTimes = times.filter((t) => t.kind === 'leads');
      const leadIngest = union(leadTimes.map((t) => [t.ingestStart, t.ingestEnd]));
      const anyIngest = union(times.map((t) => [t.ingestStart, t.ingestEnd]));
      const firstDone = Math.min(...times.map((t) => t.finishedAt));
      const lastIngest = Math.max(...times.map((t) => t.ingestEnd));
      const slotIdle = idleSlotTime(times.map((t) => [t.startedAt, t.finishedAt]), 2, started, lastIngest);
      // The plan's floor: per export create + enqueue + 1 status + 1 file; 3 describes for the lead
      // mapping and 5 for the object mappings; one Get per 300 keys of each object.
      const per300 = (n: number) => Math.ceil(n / 300);
      const minimum = 4 * exports.length + 3 + 5 + per300(seeded.companies) + per300(seeded.salespersons) + per300(seeded.opportunities) + per300(seeded.roles);
      const ingestRate = leadRows / (ingestMs / 1000);
      const aggregateRate = leadRows / (leadIngest.covered / 1000);
      const phases = Object.entries(result.progress.phases).filter(([, p]) => p.enabled);
      log(`seeded ${JSON.stringify({ leads: seeded.leads, companies: seeded.companies, salespersons: seeded.salespersons, opportunities: seeded.opportunities, roles: seeded.roles })}`);
      log(`CRM ${JSON.stringify(counted)}`);
      for (const [name, p] of phases) log(`  ${name.padEnd(16)} steps ${p.windowsDone}/${p.windowsTotal} records ${p.records} written ${p.written} failed ${p.failed} calls ${p.apiCalls}`);
      log(`exports ${exports.length} (${leadWindows.length} lead, ${activityWindows.length} Add to Opportunity), rows ${rows}`);
      log(`wall time ${(wallMs / 1000).toFixed(1)} s; lower bound (2 jobs × ${opts.rate} rows/s) ${(boundMs / 1000).toFixed(1)} s; ratio ${(wallMs / boundMs).toFixed(3)} (goal ≤ 1.15)`);
      // Marketo's rate limit is a second floor: every call of the plan, bulk ones included, counts
      // toward it, so the plan's minimum calls take at least minimum ÷ (calls per window) windows.
      const limits = emulator.runtime.options.limits;
      const callFloorMs = (minimum / limits.rateLimitCalls) * limits.rateWindowMs;
      log(`  the plan's ${minimum} calls at Marketo's ${limits.rateLimitCalls} calls / ${limits.rateWindowMs / 1000} s take at least ${(callFloorMs / 1000).toFixed(1)} s; wall ÷ the larger of the two floors ${(wallMs / Math.max(boundMs, callFloorMs)).toFixed(3)}`);
      log(`lead ingest ${aggregateRate.toFixed(0)} rows/s aggregate (${leadRows} rows in the ${(leadIngest.covered / 1000).toFixed(1)} s during which any lead ingest ran); vs --copy-rate ${opts.copyRate} rows/s: ${(aggregateRate / opts.copyRate).toFixed(2)}; vs the CRM-side benchmark's COPY (${crmSide.rows} synthetic leads, ${crmSide.columns} columns) measured after the run, ${crmSide.rowsPerSecond.toFixed(0)} rows/s: ${(aggregateRate / crmSide.rowsPerSecond).toFixed(2)}; vs plain COPY of these ${copy.rows} persons (${copy.columns} columns) measured after the run, ${copy.rowsPerSecond.toFixed(0)} rows/s: ${(aggregateRate / copy.rowsPerSecond).toFixed(2)} (goal ≥ 0.4)`);
      log(`  per download stream ${ingestRate.toFixed(0)} rows/s (batch ${opts.batch}); up to ${leadIngest.maxAtOnce} lead windows ingesting at once, ${(ingestMs / leadIngest.covered).toFixed(1)} on average`);
      log(`timeline (lead windows): export Completed → ingest start ${quantiles(leadTimes.map((t) => t.ingestStart - t.finishedAt))}`);
      log(`  ingest (download, parse, writes) ${quantiles(leadTimes.map((t) => t.ingestEnd - t.ingestStart))}; of which writing ${quantiles(leadTimes.map((t) => t.writeMs))}`);
      log(`  Marketo processing ${quantiles(leadTimes.map((t) => t.finishedAt - t.startedAt))}; queued ${quantiles(leadTimes.map((t) => t.startedAt - t.queuedAt))}`);
      const estimated = times.filter((t) => t.expectedReadyAt !== undefined);
      if (estimated.length > 0) log(`  ${estimated.length} of ${times.length} exports had an estimate; Completed − expected ${quantiles(estimated.map((t) => t.finishedAt - t.expectedReadyAt!))} (negative: earlier than expected)`);
      log(`  from the first export Completed to the last ingest end: ${((lastIngest - firstDone) / 1000).toFixed(1)} s, of which no ingest at all ${((lastIngest - firstDone - anyIngest.covered) / 1000).toFixed(1)} s`);
      log(`  Marketo's 2 slots idle ${(slotIdle / 1000).toFixed(1)} slot·s of ${((2 * (lastIngest - started)) / 1000).toFixed(1)} (start → last ingest end)`);
      const firstStart = Math.min(...times.map((t) => t.startedAt));
      const lastDone = Math.max(...times.map((t) => t.finishedAt));
      const lastLeadDone = Math.max(...leadTimes.map((t) => t.finishedAt));
      const busyIdle = idleSlotTime(times.map((t) => [t.startedAt, t.finishedAt]), 2, started, lastDone);
      log(`  Marketo's 2 slots busy ${((1 - busyIdle / (2 * (lastDone - started))) * 100).toFixed(0)} % from the start to the last export's end (${(busyIdle / 1000).toFixed(1)} idle slot·s of ${((2 * (lastDone - started)) / 1000).toFixed(1)}); first job processing ${((firstStart - started) / 1000).toFixed(1)} s after the start; the last lead export Completed at ${((lastLeadDone - started) / 1000).toFixed(1)} s, the last export at ${((lastDone - started) / 1000).toFixed(1)} s, the bootstrap ended ${((started + wallMs - lastDone) / 1000).toFixed(1)} s after that`);
      log(`worker peak RSS ${rss.toFixed(0)} MB (VmHWM); ${sampledPeak.toFixed(0)} MB sampled during the load; ${idleRss.toFixed(0)} MB when ready, before any work (goal ≤ 300)`);
      const mb = (n: number) => (n / 1048576).toFixed(0);
      log(`  worker memory peaks (process.memoryUsage every 0.5 s): heap used ${mb(memPeak.heapUsed)} MB of ${mb(memPeak.heapTotal)} MB, external ${mb(memPeak.external)} MB (array buffers ${mb(memPeak.arrayBuffers)} MB), native (RSS − heap − external) ${mb(memPeak.native)} MB`);
      log(`API calls ${calls}; plan minimum ${minimum}; ratio ${(calls / minimum).toFixed(2)}`);
      const statusCalls = (kind: string) => Object.entries(endpoints).filter(([k]) => k.startsWith(`GET /bulk/v1/${kind}/export/`) && k.endsWith('/status.json')).reduce((n, [, e]) => n + e.counted, 0);
      log(`status calls per export ${((statusCalls('leads') + statusCalls('activities')) / exports.length).toFixed(2)} (lead ${(statusCalls('leads') / leadWindows.length).toFixed(2)}, Add to Opportunity ${(statusCalls('activities') / activityWindows.length).toFixed(2)}; the minimum is 1)`);
      log(`calls by endpoint ${JSON.stringify(Object.fromEntries(Object.entries(endpoints).filter(([, e]) => e.counted > 0).map(([k, e]) => [k, e.counted])))}`);
      const tickHz = 100;
      const threads = workerThreadSplit(worker.pid!, cpuBefore.worker, cpuAfter.worker, tickHz);
      const workerCpu = Object.values(threads).reduce((a, b) => a + b, 0);
      const serverCpu = (cpuAfter.server - cpuBefore.server) / tickHz;
      const usPerLead = (seconds: number) => ((seconds * 1e6) / opts.leads).toFixed(1);
      log(`CPU during the bootstrap (load average ${cpuBefore.load.toFixed(2)} at the start, ${cpuAfter.load.toFixed(2)} at the end): Temporal dev server ${serverCpu.toFixed(1)} s = ${usPerLead(serverCpu)} µs per lead; worker ${workerCpu.toFixed(1)} s = ${usPerLead(workerCpu)} µs per lead (${Object.entries(threads).map(([k, v]) => `${k} ${v.toFixed(1)} s = ${usPerLead(v)} µs`).join(', ')})`);
      // What the run cost Temporal: every event of every execution, and the worker's activations.
      const counts = await historyCounts(env.client, `${taskQueue}-${label}`);
      const per1k = (n: number) => ((n * 1000) / opts.leads).toFixed(1);
      log(`Temporal history: ${counts.total} events (${per1k(counts.total)} per 1,000 leads) in ${Object.values(counts.executions).reduce((a, b) => a + b, 0)} executions ${JSON.stringify(counts.executions)}`);
      for (const [type, w] of Object.entries(counts.byWorkflow)) log(`  ${type}: ${w.events} events (${(w.events / counts.executions[type]!).toFixed(1)} per execution, largest ${counts.largest[type]}), ${w.workflowTasks} workflow tasks completed (${(w.workflowTasks / counts.executions[type]!).toFixed(1)} per execution)`);
      log(`  events by type (total, per 1,000 leads): ${Object.entries(counts.byType).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n} (${per1k(n)})`).join(', ')}`);
      if (metricsAddress) {
        const scraped = await fetch(`http://${metricsAddress}/metrics`).then((r) => r.text(), () => '');
        const counters = workerWorkflowCounters(scraped);
        log(`  worker (core metrics): ${Object.entries(counters).map(([k, n]) => `${k.replace(/^temporal_/, '')} ${n}`).join(', ') || 'none scraped'}`);
      }
    } finally {
      // The profile is written when the worker exits, so a profiled run waits for that.
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      if (opts.cpuProf) await exited;
      await emulator.close();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    }
  }
}

await main();
