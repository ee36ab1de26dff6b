/**
 * Acceptance benchmark for the on-demand path: fires N Marketo webhooks (a share of them
 * duplicates of earlier ones) at the real receiver, `concurrency` connections at a time, each
 * waiting for its answer (Marketo opens at most 20 webhook connections per instance and its flow
 * step waits for the answer), on the embedded stack: Marketo emulator, Postgres CRM, Temporal dev
 * server and a worker (this process), the receiver (`marketo-sync webhook serve`, its own process)
 * and the load (bench/webhook-load.ts, its own process), all started here in a throwaway folder.
 *
 * Per mode (`queued`: answers once Temporal accepted; `wait`: answers wait for the sync, up to
 * --wait-ms; `both`: one after the other, each on its own leads) it reports p50/p99 time from a
 * lead's first request to its CRM row being written (the row's own `updated_at`, set by Postgres
 * on the same clock), the HTTP answer times, where a lead's first run spent its time (run history
 * events and the Marketo read and CRM write batches that carried it), the CPU seconds of each
 * process, the Marketo calls spent, and checks that each distinct lead was sent to the CRM once
 * (counted at the connector) and has one CRM row.
 *
 *   npx tsx bench/webhook.ts [--webhooks 1000] [--duplicates 0.2] [--concurrency 20] [--mode both|queued|wait]
 *     [--wait-ms 10000] [--receiver process|inline] [--worker '{"maxConcurrentWorkflowTaskPolls":10}'] [--temporal memory|file]
 *
 * `--temporal memory` (default) runs the dev server without persistence, as a stand-in for a
 * production Temporal cluster; `file` is the embedded default's SQLite file, whose synchronous
 * writes on this machine's disk, not the sync, then set the pace. `--worker` sets worker options
 * over workers/worker.ts's WORKFLOW_TUNING.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { openApp, type AppRuntime } from '../client/runtime/app.js';
import type { LoadReport } from './webhook-load.js';
import { createSyncWorker, WORKFLOW_TUNING } from '../workers/worker.js';
import { profileStages, type Batch } from './webhook-profile.js';
import { installTemporalLogging } from '../client/runtime/temporal-logging.js';
import { createWebhookServer, listen, WEBHOOK_PATH } from '../client/webhook/server.js';
import { temporalSyncAwaiter, temporalSyncStarter } from '../client/webhook/temporal-starter.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import { freePort } from '../src/services/local-postgres.js';
import { loadConfig } from '../src/config/env.js';
import type { OnDemandSyncSummary } from '../workflows/on-demand-sync.js';
import { CLOCK_TICKS_PER_SECOND, parseProcStat } from './proc-stat.js';

const Args = z.object({
  webhooks: z.coerce.number().int().min(1).max(100_000),
  duplicates: z.coerce.number().min(0).max(0.9),
  concurrency: z.coerce.number().int().min(1).max(200),
  temporal: z.enum(['memory', 'file']),
  /** `queued`: answers once Temporal accepted; `wait`: answers wait for the sync (up to --wait-ms); `both`: one after the other, each on its own leads. */
  mode: z.enum(['queued', 'wait', 'both']),
  waitMs: z.coerce.number().int().min(1).max(15_000),
  receiver: z.enum(['process', 'inline']),
  /** Worker settings over workers/worker.ts's WORKFLOW_TUNING, as JSON: `{"maxConcurrentWorkflowTaskExecutions":100}`. */
  worker: z.string().transform((text, ctx) => {
    try {
      return WorkerTuningArg.parse(JSON.parse(text));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `--worker: ${(err as Error).message}` });
      return z.NEVER;
    }
  }),
});
const WorkerTuningArg = z.strictObject({
  maxConcurrentWorkflowTaskExecutions: z.number().int().min(2).optional(),
  maxConcurrentLocalActivityExecutions: z.number().int().min(1).optional(),
  maxConcurrentWorkflowTaskPolls: z.number().int().min(2).optional(),
  nonStickyToStickyPollRatio: z.number().min(0).max(1).optional(),
  workflowTaskPollerBehavior: z
    .union([
      z.strictObject({ type: z.literal('simple-maximum'), maximum: z.number().int().min(2) }),
      z.strictObject({ type: z.literal('autoscaling'), minimum: z.number().int().min(1).optional(), maximum: z.number().int().min(1).optional(), initial: z.number().int().min(1).optional() }),
    ])
    .optional(),
  maxCachedWorkflows: z.number().int().min(0).optional(),
  workflowThreadPoolSize: z.number().int().min(1).optional(),
  reuseV8Context: z.boolean().optional(),
});
const { values } = parseArgs({
  options: {
    webhooks: { type: 'string', default: '1000' },
    duplicates: { type: 'string', default: '0.2' },
    concurrency: { type: 'string', default: '20' },
    temporal: { type: 'string', default: 'memory' },
    worker: { type: 'string', default: '{}' },
    mode: { type: 'string', default: 'both' },
    'wait-ms': { type: 'string', default: '10000' },
    receiver: { type: 'string', default: 'process' },
  },
});
const args = Args.parse({ ...values, waitMs: values['wait-ms'] });
const DISTINCT = Math.round(args.webhooks * (1 - args.duplicates));
const SECRET = 'bench-webhook-secret-0123456789abcdef';
const MODES: ('queued' | 'wait')[] = args.mode === 'both' ? ['queued', 'wait'] : [args.mode];
/** Each mode gets its own leads (ids offset by DISTINCT per mode), so no run or CRM row carries over; one more lead warms up. */
const WARM_ID = DISTINCT * MODES.length + 1;

/** Seeded shuffle, so runs repeat: every lead once, then duplicates of random earlier leads, mixed. Ids 1..DISTINCT. */
function plan(): number[] {
  let s = 7;
  const rnd = () => ((s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const order = Array.from({ length: DISTINCT }, (_, i) => i + 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Each duplicate goes somewhere after its lead's first webhook: right behind it (in flight) or later (after the run closed).
  for (let d = 0; d < args.webhooks - DISTINCT; d++) {
    const at = Math.floor(rnd() * order.length);
    const leadId = order[at]!;
    const after = at + 1 + Math.floor(rnd() * (rnd() < 0.5 ? 5 : order.length - at));
    order.splice(Math.min(after, order.length), 0, leadId);
  }
  return order;
}

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpu: number;
}

/** Every process's parent, name and CPU seconds so far, from /proc. */
function procTable(): Proc[] {
  const out: Proc[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      out.push({ pid: Number(pid), ppid: stat.ppid, comm: stat.comm, cpu: (stat.utime + stat.stime) / CLOCK_TICKS_PER_SECOND });
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** CPU seconds of each process tree rooted at the given pids (children started later included while alive). */
function treeCpu(roots: Map<string, number>): Map<string, number> {
  const table = procTable();
  const children = new Map<number, Proc[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out = new Map<string, number>();
  for (const [name, root] of roots) {
    let sum = 0;
    const stack = table.filter((p) => p.pid === root);
    while (stack.length) {
      const p = stack.pop()!;
      sum += p.cpu;
      stack.push(...(children.get(p.pid) ?? []));
    }
    out.set(name, sum);
  }
  return out;
}

/** The bench's own Temporal server and Postgres (not other jobs' on the machine), and the receiver. */
function serviceRoots(receiverPid: number | undefined): Map<string, number> {
  const roots = new Map<string, number>();
  const table = procTable();
  const temporalServer = table.find((p) => p.ppid === process.pid && p.comm.startsWith('temporal'));
  if (temporalServer) roots.set('Temporal server', temporalServer.pid);
  const postmaster = table.find((p) => p.comm.startsWith('postgres') && readCmdline(p.pid).includes(dataDir));
  if (postmaster) roots.set('Postgres', postmaster.pid);
  if (receiverPid !== undefined) roots.set('receiver', receiverPid);
  return roots;
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function loadavg(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Receiver {
  url: string;
  pid?: number;
  close(): Promise<void>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');

/**
 * The receiver as an operator runs it, `marketo-sync webhook serve` in its own process (`--receiver
 * process`), or in this process beside the worker (`inline`, where both share one event loop).
 */
async function startReceiver(mode: 'queued' | 'wait', app: AppRuntime): Promise<Receiver> {
  if (args.receiver === 'inline') {
    const server = createWebhookServer({
      secret: SECRET,
      maxBodyBytes: 16_384,
      start: temporalSyncStarter(app.client, app.config.temporal.taskQueue),
      ...(mode === 'wait' ? { wait: { ms: args.waitMs, result: temporalSyncAwaiter(app.client) } } : {}),
    });
    const url = `${(await listen(server, 0, '127.0.0.1')).url}${WEBHOOK_PATH}`;
    return {
      url,
      close: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  }
  const child = spawn(tsx, ['client/cli.ts', 'webhook', 'serve', '--port', '0', '--wait', mode === 'wait' ? String(args.waitMs) : '0'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: app.services.temporalAddress,
      TEMPORAL_NAMESPACE: app.config.temporal.namespace,
      TEMPORAL_TASK_QUEUE: app.config.temporal.taskQueue,
      WEBHOOK_SECRET: SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code} before listening: ${err}`)));
  });
  return {
    url,
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Fires `order` from bench/webhook-load.ts, a process of its own as Marketo is. */
async function fire(url: string, order: number[]): Promise<LoadReport> {
  const child = spawn(tsx, ['bench/webhook-load.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.stdin.end(JSON.stringify({ url, secret: SECRET, concurrency: args.concurrency, order }));
  const code = await exited;
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out) as LoadReport;
}

installTemporalLogging();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-webhook-bench-'));
chmodSync(dataDir, 0o755); // as root, Postgres runs as `postgres` and must traverse it
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: String(await freePort()),
  EMBEDDED_TEMPORAL_PORT: String(await freePort()),
  EMBEDDED_TEMPORAL_UI_PORT: String(await freePort()),
};
delete env.DATABASE_URL;
delete env.TEMPORAL_ADDRESS;
delete env.MARKETO_BASE_URL;
const temporal = args.temporal === 'memory' ? await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal'), ip: '127.0.0.1' } }) : undefined;
if (temporal) env.TEMPORAL_ADDRESS = temporal.address;
console.log(`load average at start ${loadavg()}`);
console.log(`Starting Postgres, Temporal dev server (${args.temporal}), emulator (${WARM_ID} leads) and a worker in ${dataDir}`);
const app = await openApp({ emulatorSeed: { leads: WARM_ID } }, loadConfig(env));
try {
  // Every record the worker sends to the CRM, per Marketo lead id: the ground truth for "written once".
  const upsertsPerLead = new Map<number, number>();
  // Each Marketo read and CRM write batch, with the leads it carried: where a lead's time went.
  const reads: Batch[] = [];
  const writes: Batch[] = [];
  const upsert = app.crm.upsert.bind(app.crm);
  app.crm.upsert = async (entity, records, options) => {
    for (const r of records) upsertsPerLead.set(Number(r.marketo_lead_id), (upsertsPerLead.get(Number(r.marketo_lead_id)) ?? 0) + 1);
    const start = Date.now();
    const out = await upsert(entity, records, options);
    writes.push({ start, end: Date.now(), ids: records.map((r) => Number(r.marketo_lead_id)) });
    return out;
  };
  const getByFilter = app.marketo.leads.getByFilter.bind(app.marketo.leads);
  app.marketo.leads.getByFilter = async (query) => {
    const start = Date.now();
    const page = await getByFilter(query);
    reads.push({ start, end: Date.now(), ids: query.filterValues.map(Number) });
    return page;
  };
  const worker = await createSyncWorker({
    connection: app.workerConnection,
    namespace: app.config.temporal.namespace,
    taskQueue: app.config.temporal.taskQueue,
    deps: { marketo: app.marketo, store: app.store, crm: app.crm },
    tuning: args.worker,
  });
  const running = worker.run();
  const emulator = app.services.emulator!;
  const receivers = new Map<'queued' | 'wait', Receiver>();
  for (const mode of MODES) receivers.set(mode, await startReceiver(mode, app));

  // Warm-up on a lead outside the measured sets: loads the mapping (describe calls) and the workflow bundle.
  await fetch(receivers.get(MODES[0]!)!.url, { method: 'POST', headers: { 'x-webhook-secret': SECRET }, body: `{"leadId": ${WARM_ID}}` });
  await app.client.workflow.getHandle(`on-demand-${WARM_ID}`).result();

  let failed = false;
  for (const [i, mode] of MODES.entries()) {
    const offset = i * DISTINCT;
    const order = plan().map((id) => id + offset);
    const distinct = new Set(order);
    emulator.runtime.stats.reset();
    reads.length = 0;
    writes.length = 0;
    const url = receivers.get(mode)!.url;
    console.log(`\n== mode ${mode}${mode === 'wait' ? ` (answers wait up to ${args.waitMs} ms for the sync)` : ' (answers once Temporal accepted)'}, receiver ${args.receiver}; load average ${loadavg()}`);
    console.log(`Firing ${order.length} webhooks (${distinct.size} distinct leads), ${args.concurrency} at a time`);
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    const roots = serviceRoots(receivers.get(mode)!.pid);
    const othersBefore = treeCpu(roots);
    const answers = await fire(url, order);
    const firstSent = new Map<number, number>();
    const firstAnswered = new Map<number, number>();
    const answerMs: number[] = [];
    const statuses = new Map<number, number>();
    const answerStatus = new Map<string, number>();
    const runs: { leadId: number; runId: string }[] = [];
    for (const a of [...answers.results].sort((x, y) => x.sentAt - y.sentAt)) {
      if (!firstSent.has(a.leadId)) {
        firstSent.set(a.leadId, a.sentAt);
        firstAnswered.set(a.leadId, a.answeredAt);
      }
      answerMs.push(a.answeredAt - a.sentAt);
      statuses.set(a.httpStatus, (statuses.get(a.httpStatus) ?? 0) + 1);
      answerStatus.set(a.status, (answerStatus.get(a.status) ?? 0) + 1);
      if (a.runId !== undefined) runs.push({ leadId: a.leadId, runId: a.runId });
    }
    const firedIn = (performance.now() - began) / 1000;

    const uniqueRuns = [...new Map(runs.map((r) => [`${r.leadId}/${r.runId}`, r])).values()];
    const summaries = await Promise.all(
      uniqueRuns.map(async (r) => ({ ...r, summary: await app.client.workflow.getHandle<() => Promise<OnDemandSyncSummary>>(`on-demand-${r.leadId}`, r.runId).result() })),
    );
    const allDoneIn = (performance.now() - began) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const othersAfter = treeCpu(roots);
    const outcomes = new Map<string, number>();
    for (const s of summaries) outcomes.set(s.summary.outcome, (outcomes.get(s.summary.outcome) ?? 0) + 1);

    const { rows } = await app.store.pool.query<{ marketo_lead_id: string; written_ms: number }>(
      `SELECT marketo_lead_id::text, extract(epoch FROM updated_at) * 1000 AS written_ms FROM crm.leads WHERE marketo_lead_id > $1 AND marketo_lead_id <= $2
       UNION ALL SELECT marketo_lead_id::text, extract(epoch FROM updated_at) * 1000 FROM crm.contacts WHERE marketo_lead_id > $1 AND marketo_lead_id <= $2`,
      [offset, offset + DISTINCT],
    );
    const rowsPerLead = new Map<number, number>();
    const latency: number[] = [];
    for (const row of rows) {
      const leadId = Number(row.marketo_lead_id);
      rowsPerLead.set(leadId, (rowsPerLead.get(leadId) ?? 0) + 1);
      const sent = firstSent.get(leadId);
      if (sent !== undefined) latency.push(Number(row.written_ms) - sent);
    }
    latency.sort((a, b) => a - b);
    answerMs.sort((a, b) => a - b);
    const exactlyOnceWrites = [...distinct].every((id) => upsertsPerLead.get(id) === 1);
    const recordedWrites = summaries.reduce((n, s) => n + s.summary.writes, 0);
    const exactlyOneRow = [...distinct].every((id) => rowsPerLead.get(id) === 1) && rowsPerLead.size === distinct.size;
    const calls = emulator.runtime.stats.snapshot().endpoints;

    console.log(`HTTP answers: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')} (status ${[...answerStatus].map(([s, n]) => `${s} ${n}`).join(', ')}); p50 ${percentile(answerMs, 50).toFixed(1)} ms, p99 ${percentile(answerMs, 99).toFixed(1)} ms, max ${answerMs.at(-1)!.toFixed(1)} ms`);
    console.log(`fired in ${firedIn.toFixed(2)} s (${(order.length / firedIn).toFixed(1)} webhooks/s); all workflows done ${allDoneIn.toFixed(2)} s after the first webhook`);
    console.log(`request → CRM row written (${latency.length} leads): p50 ${percentile(latency, 50).toFixed(0)} ms, p99 ${percentile(latency, 99).toFixed(0)} ms, max ${latency.at(-1)!.toFixed(0)} ms (goal p99 ≤ 1000 ms)`);
    console.log(`workflow runs: ${summaries.length} for ${distinct.size} leads; last-pass outcomes ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}; passes ${summaries.reduce((n, s) => n + s.summary.passes, 0)}`);
    console.log(`each distinct lead written exactly once: ${exactlyOnceWrites} (CRM upserts per lead), ${exactlyOneRow} (one CRM row each); writes recorded in workflow results ${recordedWrites}`);
    console.log(`CPU seconds from the first webhook until all runs closed: bench process (worker, emulator${args.receiver === "inline" ? ", receiver" : ""}) ${((cpu.user + cpu.system) / 1e6).toFixed(1)}, ${[...othersAfter].map(([k, v]) => `${k} ${(v - (othersBefore.get(k) ?? 0)).toFixed(1)}`).join(', ')}, load generator ${answers.cpuSeconds.toFixed(1)}`);
    const stages = await profileStages({ client: app.client, runs: uniqueRuns, firstSent, firstAnswered, reads, writes, rowWrittenAt: new Map(rows.map((r) => [Number(r.marketo_lead_id), Number(r.written_ms)])) });
    console.log(`where a lead's first run spent its time (${stages.leads} leads; ms, p50 / p99):`);
    for (const st of stages.stages) console.log(`  ${st.name.padEnd(46)} ${st.p50.toFixed(0).padStart(6)} / ${st.p99.toFixed(0).padStart(6)}`);
    console.log(`  workflow tasks per run: ${stages.tasksPerRun.toFixed(2)}`);
    console.log(`  reads: ${reads.length} calls, ${(reads.reduce((n, b) => n + b.ids.length, 0) / Math.max(1, reads.length)).toFixed(1)} leads each; writes: ${writes.length} upserts, ${(writes.reduce((n, b) => n + b.ids.length, 0) / Math.max(1, writes.length)).toFixed(1)} leads each`);
    console.log('Marketo calls:');
    for (const [endpoint, c] of Object.entries(calls)) console.log(`  ${String(c.calls).padStart(5)}  ${endpoint}${Object.keys(c.errors).length ? `  errors ${JSON.stringify(c.errors)}` : ''}`);
    const expected = mode === 'wait' ? [200, 202] : [202];
    if (!exactlyOnceWrites || !exactlyOneRow || [...statuses.keys()].some((s) => !expected.includes(s))) failed = true;
  }
  console.log(`\nworker tuning: ${JSON.stringify({ ...WORKFLOW_TUNING, ...args.worker })} (WORKFLOW_TUNING and --worker); load average at the end ${loadavg()}`);
  for (const r of receivers.values()) await r.close();
  worker.shutdown();
  await running;
  if (failed) process.exitCode = 1;
} finally {
  await app.close();
  await temporal?.teardown();
  rmSync(dataDir, { recursive: true, force: true });
}
