/**
 * CPU time of a local Postgres cluster from /proc, for bench/ingest-ceiling.ts: the whole cluster
 * (postmaster with its exited children, and every live child: backends, WAL writer, checkpointer,
 * autovacuum) and the backends of one database (children whose process title names it). Clock
 * ticks of /proc/<pid>/stat are USER_HZ, 100 per second on Linux.
 */
import { readFile, readdir } from 'node:fs/promises';
import type pg from 'pg';

const TICK_MS = 1000 / 100;

export interface ClusterCpu {
  /** Every process of the cluster, ms. */
  clusterMs: number;
  /** Backends connected to the database, ms (live ones only: keep their connections open across a measurement). */
  backendsMs: number;
}

/** Fields after the command: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
async function stat(pid: string): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
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

export async function clusterCpu(postmaster: number, database: string): Promise<ClusterCpu> {
  const own = await stat(String(postmaster));
  let clusterMs = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) * TICK_MS;
  let backendsMs = 0;
  // A backend's title: "postgres: <user> <database> <host>(<port>) <state>".
  const title = new RegExp(`^postgres: \\S+ ${database} `);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = await stat(pid).catch(() => undefined);
    if (!f || Number(f[1]) !== postmaster) continue;
    const ms = (Number(f[11]) + Number(f[12])) * TICK_MS;
    clusterMs += ms;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (title.test(cmdline.replace(/\0/g, ' '))) backendsMs += ms;
  }
  return { clusterMs, backendsMs };
}

/** CPU time of one process (a backend: `SELECT pg_backend_pid()`), ms; undefined when it cannot be read. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  const f = await stat(String(pid)).catch(() => undefined);
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : undefined;
}
