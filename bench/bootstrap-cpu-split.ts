/**
 * Where a bootstrap's CPU goes during the lead ingest:
 *   npx tsx bench/bootstrap-cpu-split.ts [--leads 200000] [-- <more bench/bootstrap.ts options>]
 * Runs bench/bootstrap.ts (unchanged, as a child process) against a Postgres cluster of its own
 * (.data/cpu-split-postgres, so every Postgres process counted is this run's) and samples, every
 * `--every` ms, utime+stime from /proc of each process of the run: the bench process (it holds
 * the emulator), the Temporal dev server, the worker and every Postgres process (backends,
 * background workers; backends that exit are counted through the postmaster's cutime/cstime),
 * plus the machine's /proc/stat and load average, and what the run's Postgres backends are doing
 * (pg_stat_activity). From the bench's timeline it takes the lead ingest's span (first lead
 * ingest start → last lead ingest end) and prints CPU µs per lead per process, cores busy, the
 * machine's busy share and the backends' states in that span.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { readProcStat } from './proc-stat.js';

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  every: z.coerce.number().int().min(50),
  clockTicks: z.coerce.number().int().min(1),
});

type Role = 'bench + emulator' | 'temporal dev server' | 'worker' | 'postgres backends' | 'postgres autovacuum' | 'postgres WAL, checkpoints, writer' | 'postgres exited (reaped by the postmaster)' | 'postmaster' | 'other';

interface ProcSample {
  pid: number;
  role: Role;
  /** utime + stime (+ cutime + cstime for the postmaster: its reaped backends), in clock ticks. */
  ticks: number;
}

interface Sample {
  at: number;
  procs: ProcSample[];
  /** /proc/stat's first line: busy and total ticks of the whole machine. */
  busy: number;
  total: number;
  load1: number;
  /** The run's backends by state (pg_stat_activity), this sampler's own excluded. */
  backends: Record<string, number>;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined; // The process exited between listing and reading.
  }
}

async function processTable(): Promise<Map<number, { ppid: number; utime: number; stime: number; cutime: number; cstime: number; cmd: string }>> {
  const out = new Map<number, { ppid: number; utime: number; stime: number; cutime: number; cstime: number; cmd: string }>();
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const s = await readProcStat(pid);
      const cmd = (await readText(`/proc/${pid}/cmdline`))?.replace(/\0/g, ' ').trim();
      if (s && cmd !== undefined) out.set(pid, { ...s, cmd });
    }),
  );
  return out;
}

function descendants(table: Map<number, { ppid: number }>, root: number): Set<number> {
  const out = new Set<number>([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of table) {
      if (out.has(pid) || !out.has(p.ppid)) continue;
      out.add(pid);
      grew = true;
    }
  }
  return out;
}

async function machine(): Promise<{ busy: number; total: number; load1: number }> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const load1 = Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
  return { busy: total - idle, total, load1 };
}

/** A counter at time `t`, interpolated linearly between the samples around it. */
function valueAt(series: readonly { at: number; v: number }[], t: number): number {
  let i = series.findIndex((s) => s.at >= t);
  if (i < 0) i = series.length - 1;
  if (i === 0) return series[0]!.v;
  const a = series[i - 1]!;
  const b = series[i]!;
  const w = b.at === a.at ? 1 : Math.min(1, Math.max(0, (t - a.at) / (b.at - a.at)));
  return a.v + (b.v - a.v) * w;
}

const ROLES: Role[] = ['bench + emulator', 'temporal dev server', 'worker', 'postgres backends', 'postgres autovacuum', 'postgres WAL, checkpoints, writer', 'postgres exited (reaped by the postmaster)', 'postmaster', 'other'];

async function main(): Promise<void> {
  const cli = new Command()
    .option('--leads <n>', 'leads (bench/bootstrap.ts --leads)', '200000')
    .option('--every <ms>', 'sampling interval', '250')
    .option('--clock-ticks <n>', 'clock ticks per second (getconf CLK_TCK)', '100')
    .allowExcessArguments(true)
    .allowUnknownOption(false);
  cli.parse(process.argv);
  const opts = Options.parse(cli.opts());
  const passThrough = cli.args;
  const log = (line: string) => process.stdout.write(line + '\n');
  const root = fileURLToPath(new URL('..', import.meta.url));
  let pgLocal = await ensureLocalPostgres({ dataDir: path.join(root, '.data', 'cpu-split-postgres') });
  // pg_stat_statements tells which statements the backends' time went to (a restart loads it).
  {
    const c = new pg.Client({ connectionString: pgLocal.url });
    await c.connect();
    const loaded = (await c.query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`)).rows[0]!.v;
    if (!loaded.includes('pg_stat_statements')) {
      await c.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
      await c.end();
      await pgLocal.stop();
      pgLocal = await ensureLocalPostgres({ dataDir: pgLocal.dataDir, port: pgLocal.port });
    } else await c.end();
  }
  const postmaster = Number((await readFile(path.join(pgLocal.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const timeline = path.join(await mkdtemp(path.join(os.tmpdir(), 'cpu-split-')), 'timeline.json');

  const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/bootstrap.ts', '--leads', String(opts.leads), '--timeline', timeline, ...passThrough], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: pgLocal.url },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => bench.once('exit', resolve));

  const watcher = new pg.Client({ connectionString: pgLocal.url });
  await watcher.connect();
  const self = (await watcher.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await watcher.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await watcher.query('SELECT pg_stat_statements_reset()');
  /** Every ~2 s: per statement, total execution + planning ms and calls (the watcher's own left out). */
  const statements: { at: number; rows: Map<string, { ms: number; calls: number; rows: number }> }[] = [];
  const texts = new Map<string, string>();
  const statementsEvery = 2_000;
  const samples: Sample[] = [];
  let running = true;
  const sampling = (async () => {
    while (running) {
      const started = Date.now();
      const [table, m, activity] = await Promise.all([
        processTable(),
        machine(),
        watcher.query<{ state: string; n: number }>(
          `SELECT coalesce(state, '?') || coalesce(' / ' || wait_event_type || ':' || wait_event, '') AS state, count(*)::int AS n
           FROM pg_stat_activity WHERE datname LIKE 'bench_bootstrap_%' AND pid <> $1 GROUP BY 1`,
          [self],
        ),
      ]);
      const ours = descendants(table, bench.pid!);
      const postgres = descendants(table, postmaster);
      const procs: ProcSample[] = [];
      for (const pid of new Set([...ours, ...postgres])) {
        const p = table.get(pid);
        if (!p) continue;
        let role: Role = 'other';
        if (pid === postmaster) role = 'postmaster';
        else if (postgres.has(pid)) role = /postgres: \S+ \S+ 127\.0\.0\.1/.test(p.cmd) ? 'postgres backends' : /autovacuum/.test(p.cmd) ? 'postgres autovacuum' : 'postgres WAL, checkpoints, writer';
        else if (pid === bench.pid) role = 'bench + emulator';
        else if (/temporal/.test(p.cmd) && !/node/.test(p.cmd.split(' ')[0]!)) role = 'temporal dev server';
        else if (/bootstrap-worker/.test(p.cmd)) role = 'worker';
        if (pid !== self) procs.push({ pid, role, ticks: p.utime + p.stime });
        // Backends and autovacuum workers that exited: their whole CPU lands in the postmaster's cutime/cstime.
        if (pid === postmaster) procs.push({ pid: -postmaster, role: 'postgres exited (reaped by the postmaster)', ticks: p.cutime + p.cstime });
      }
      samples.push({ at: started, procs, ...m, backends: Object.fromEntries(activity.rows.map((r) => [r.state, r.n])) });
      if (started - (statements.at(-1)?.at ?? 0) >= statementsEvery) {
        const { rows } = await watcher.query<{ id: string; query: string; ms: number; calls: number; rows: number }>(
          `SELECT queryid::text AS id, query, total_exec_time + total_plan_time AS ms, calls::float8 AS calls, rows::float8 AS rows
           FROM pg_stat_statements WHERE dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        for (const r of rows) if (!texts.has(r.id)) texts.set(r.id, r.query.replace(/\s+/g, ' ').slice(0, 140));
        statements.push({ at: Date.now(), rows: new Map(rows.map((r) => [r.id, { ms: r.ms, calls: r.calls, rows: r.rows }])) });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, opts.every - (Date.now() - started))));
    }
  })();
  const code = await exited;
  running = false;
  await sampling;
  await watcher.end();
  if (code !== 0) throw new Error(`bench/bootstrap.ts exited with ${code}`);

  const tl = z
    .object({ times: z.array(z.object({ kind: z.string(), rows: z.number(), ingestStart: z.number(), ingestEnd: z.number() })) })
    .parse(JSON.parse(await readFile(timeline, 'utf8')));
  const leadWindows = tl.times.filter((t) => t.kind === 'leads');
  const from = Math.min(...leadWindows.map((t) => t.ingestStart));
  const to = Math.max(...leadWindows.map((t) => t.ingestEnd));
  const leads = leadWindows.reduce((n, t) => n + t.rows, 0);
  const seconds = (to - from) / 1000;
  // Per process: its counter carried forward after it exits, except Postgres children: theirs
  // moves into the postmaster's cutime when reaped, so it drops to 0 (the sum stays right).
  const pids = new Map<number, Role>();
  // The first role seen: an exiting process's cmdline is empty, which would make it 'other'.
  for (const s of samples) for (const p of s.procs) if (!pids.has(p.pid)) pids.set(p.pid, p.role);
  const reaped = new Set<Role>(['postgres backends', 'postgres autovacuum', 'postgres WAL, checkpoints, writer']);
  const perRole = new Map<Role, number>(ROLES.map((r) => [r, 0]));
  for (const [pid, role] of pids) {
    let last = 0;
    let seen = false;
    const series = samples.map((s) => {
      const p = s.procs.find((q) => q.pid === pid);
      if (p) last = p.ticks;
      else if (reaped.has(role)) last = 0;
      seen ||= p !== undefined;
      return { at: s.at, v: seen ? last : NaN };
    });
    const firstSeen = series.find((x) => !Number.isNaN(x.v))!.at;
    const known = series.filter((x) => !Number.isNaN(x.v));
    const start = firstSeen > from ? 0 : valueAt(known, from);
    perRole.set(role, perRole.get(role)! + (valueAt(known, to) - start));
  }
  const machineSeries = (f: (s: Sample) => number) => samples.map((s) => ({ at: s.at, v: f(s) }));
  const busy = valueAt(machineSeries((s) => s.busy), to) - valueAt(machineSeries((s) => s.busy), from);
  const total = valueAt(machineSeries((s) => s.total), to) - valueAt(machineSeries((s) => s.total), from);
  const inSpan = samples.filter((s) => s.at >= from && s.at <= to);
  const loads = inSpan.map((s) => s.load1);
  const tickUs = 1e6 / opts.clockTicks;
  log('');
  log(`lead ingest span ${seconds.toFixed(1)} s (first lead ingest start → last lead ingest end), ${leads} leads, ${(leads / seconds).toFixed(0)} leads/s over the span`);
  log(`load average (1 min) in the span: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}; machine busy ${((100 * busy) / total).toFixed(0)} % of ${os.cpus().length} cores (${((busy / total) * os.cpus().length).toFixed(2)} cores), every process on the machine counted`);
  log('| process | CPU s in the span | cores busy (avg) | µs per lead |');
  log('|---|---|---|---|');
  let sum = 0;
  for (const role of ROLES) {
    const ticks = perRole.get(role)!;
    if (ticks === 0) continue;
    sum += ticks;
    log(`| ${role} | ${((ticks * tickUs) / 1e6).toFixed(1)} | ${((ticks * tickUs) / 1e6 / seconds).toFixed(2)} | ${((ticks * tickUs) / leads).toFixed(1)} |`);
  }
  log(`| **this run's processes** | ${((sum * tickUs) / 1e6).toFixed(1)} | ${((sum * tickUs) / 1e6 / seconds).toFixed(2)} | ${((sum * tickUs) / leads).toFixed(1)} |`);
  // What the run's backends were doing, averaged over the samples in the span.
  const states = new Map<string, number>();
  for (const s of inSpan) for (const [k, n] of Object.entries(s.backends)) states.set(k, (states.get(k) ?? 0) + n);
  log(`Postgres backends of the run by state (average number at a sample, ${inSpan.length} samples):`);
  for (const [k, n] of [...states].sort((a, b) => b[1] - a[1])) log(`  ${k}: ${(n / inSpan.length).toFixed(2)}`);
  // Statements between the snapshots nearest the span's ends.
  const nearest = (t: number) => statements.reduce((best, x) => (Math.abs(x.at - t) < Math.abs(best.at - t) ? x : best));
  const a = nearest(from);
  const b = nearest(to);
  const deltas = [...b.rows].map(([id, v]) => {
    const before = a.rows.get(id) ?? { ms: 0, calls: 0, rows: 0 };
    return { id, ms: v.ms - before.ms, calls: v.calls - before.calls, rows: v.rows - before.rows };
  });
  const totalMs = deltas.reduce((n, d) => n + d.ms, 0);
  log(`statements (pg_stat_statements: execution time, which includes waiting for a core; ${((b.at - a.at) / 1000).toFixed(1)} s between snapshots; ${(totalMs / 1000).toFixed(1)} s in all = ${((totalMs * 1000) / leads).toFixed(1)} µs per lead):`);
  log('| ms | % | calls | rows | µs per lead | statement |');
  log('|---|---|---|---|---|---|');
  for (const d of deltas.sort((x, y) => y.ms - x.ms).slice(0, 15)) {
    log(`| ${d.ms.toFixed(0)} | ${((100 * d.ms) / totalMs).toFixed(1)} | ${d.calls} | ${d.rows} | ${((d.ms * 1000) / leads).toFixed(1)} | \`${texts.get(d.id)!.replace(/\|/g, '\\|')}\` |`);
  }
}

await main();
