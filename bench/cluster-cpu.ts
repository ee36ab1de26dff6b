/**
 * CPU time of a local Postgres cluster from /proc (bench/ingest-ceiling.ts, bench/bootstrap-writes.ts):
 * the whole cluster (postmaster with its exited children, and every live child: backends, WAL
 * writer, checkpointer, autovacuum) and the backends of one database (children whose process
 * title names it).
 */
import { readFile, readdir } from 'node:fs/promises';
import type pg from 'pg';
import { CLOCK_TICKS_PER_SECOND, readProcStat } from './proc-stat.js';

const TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND;

export interface ClusterCpu {
  /** Every process of the cluster, ms. */
  clusterMs: number;
  /** Backends connected to the database, ms (live ones only: keep their connections open across a measurement). */
  backendsMs: number;
}

/** The cluster's postmaster pid, or undefined when the server is not a process of this machine we can read. */
export async function postmasterPid(pool: pg.Pool): Promise<number | undefined> {
  try {
    const { rows } = await pool.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    return Number((await readFile(`${rows[0]!.dir}/postmaster.pid`, 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Without `database`, `backendsMs` is 0 and only the cluster is counted. */
export async function clusterCpu(postmaster: number, database?: string): Promise<ClusterCpu> {
  const own = await readProcStat(postmaster);
  if (!own) throw new Error(`postmaster ${postmaster} is not running`);
  let clusterMs = (own.utime + own.stime + own.cutime + own.cstime) * TICK_MS;
  let backendsMs = 0;
  // A backend's title: "postgres: <user> <database> <host>(<port>) <state>".
  const title = database === undefined ? undefined : new RegExp(`^postgres: \\S+ ${database} `);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = await readProcStat(pid);
    if (!f || f.ppid !== postmaster) continue;
    const ms = (f.utime + f.stime) * TICK_MS;
    clusterMs += ms;
    if (!title) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (title.test(cmdline.replace(/\0/g, ' '))) backendsMs += ms;
  }
  return { clusterMs, backendsMs };
}

/** CPU time of one process (a backend: `SELECT pg_backend_pid()`), ms; undefined when it cannot be read. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  const f = await readProcStat(pid);
  return f ? (f.utime + f.stime) * TICK_MS : undefined;
}
