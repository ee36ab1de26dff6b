/**
 * /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) for the benchmarks' CPU figures. Times are in
 * clock ticks (USER_HZ, 100 per second on Linux: `CLOCK_TICKS_PER_SECOND`).
 */
import { readFile } from 'node:fs/promises';

export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  /** The command name (between the parentheses). */
  comm: string;
  ppid: number;
  utime: number;
  stime: number;
  /** Of children the process has waited for (the postmaster's exited backends). */
  cutime: number;
  cstime: number;
}

/** Parses a stat line; the command name may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const f = (n: number) => Number(rest[n - 3]);
  return { comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), ppid: f(4), utime: f(14), stime: f(15), cutime: f(16), cstime: f(17) };
}

/** The stat of a process (or a thread's, given its path), undefined once it has exited. */
export async function readProcStat(pidOrPath: number | string): Promise<ProcStat | undefined> {
  const path = typeof pidOrPath === 'number' || /^\d+$/.test(pidOrPath) ? `/proc/${pidOrPath}/stat` : pidOrPath;
  try {
    return parseProcStat(await readFile(path, 'utf8'));
  } catch {
    return undefined; // The process exited between listing and reading.
  }
}
