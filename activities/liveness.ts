import { Context } from '@temporalio/activity';

/** How often a long step tells Temporal its worker is alive (the workflow's heartbeatTimeout is 30 s). */
const BEAT_MS = 5_000;

/**
 * Runs an activity body while heartbeating on a timer. A sync step can run for minutes without a
 * natural checkpoint (pages, Bulk Import polls); without heartbeats a worker killed mid-step is
 * only noticed at the step's start-to-close timeout (30 minutes), and the loop stands still that
 * long. Called outside an activity (tests calling a step directly) it just runs the body.
 */
export async function withLiveness<T>(body: () => Promise<T>, beatMs = BEAT_MS): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return body();
  }
  const beat = setInterval(() => ctx.heartbeat(), beatMs);
  try {
    ctx.heartbeat();
    return await body();
  } finally {
    clearInterval(beat);
  }
}

/** Every function of an activity group, run under withLiveness. */
export function withLivenessAll<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) out[name] = (...args: never[]) => withLiveness(() => fn(...args));
  return out as T;
}
