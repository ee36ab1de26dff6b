import { prng } from '../../emulator/faults.js';
import { awaitBootstrap, LOAD, loadSummary, startBootstrap } from '../bootstrap-run.js';
import type { CaseContext, CaseDef, CaseOutcome } from '../case.js';
import { Scenario, type WorkerHandle } from '../scenario.js';
import { crmPersons, verifyPersons } from '../verify.js';

export interface CrashPlan {
  /** Worker SIGKILLs during the load. */
  kills: number;
  seed: number;
  /** After this kill the Temporal dev server is SIGKILLed and restarted from its SQLite file (0: never). */
  temporalAfterKill: number;
  /** After this kill Postgres is restarted while a worker runs (0: never). */
  postgresAfterKill: number;
  /** Export processing is paced so the whole load lasts about this long (kills need a load to land in). */
  loadSeconds: number;
  /** Random wait after a worker is ready before it is killed, ms. */
  killDelayMs: [number, number];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A bootstrap whose worker process is SIGKILLed at seeded random points while the CRM is
 * filling (each kill waits until rows were written since the previous one, then a random delay),
 * with Temporal and Postgres restarts in between; the load must still end with every lead in the CRM once.
 */
export async function crashBootstrap(ctx: CaseContext, plan: CrashPlan): Promise<CaseOutcome> {
  // Two export jobs run at once: each processes about half the rows in `loadSeconds`.
  const rowsPerSecond = Math.max(5, Math.round(ctx.scale / 2 / plan.loadSeconds));
  const s = await Scenario.open(ctx.stack, { leads: ctx.scale, from: LOAD.from, to: LOAD.to, emulator: { bulk: { export: { rowsPerSecond } } } });
  const random = prng(plan.seed);
  const events: string[] = [];
  let selfExits = 0;
  try {
    let worker: WorkerHandle = await s.startWorker('process');
    const handle = await startBootstrap(s, `reliability-crash-${plan.seed}`, '3 seconds');
    const started = Date.now();
    const finished = async () => {
      try {
        return (await handle.describe()).status.name !== 'RUNNING';
      } catch {
        return false; // Temporal restarting: not known to be finished
      }
    };
    let kills = 0;
    let rowsAtLastKill = 0;
    while (kills < plan.kills) {
      // Each kill lands while the load moves: the CRM gained rows since the previous kill.
      while (!(await finished()) && (await crmPersons(s.crm.pool).catch(() => 0)) <= rowsAtLastKill) await sleep(200);
      const wait = plan.killDelayMs[0] + random() * (plan.killDelayMs[1] - plan.killDelayMs[0]);
      const until = Date.now() + wait;
      while (Date.now() < until && !(await finished())) await sleep(Math.min(250, Math.max(0, until - Date.now())));
      if (await finished()) break;
      const rows = await crmPersons(s.crm.pool).catch(() => NaN);
      await worker.kill('SIGKILL');
      if (Number.isFinite(rows)) rowsAtLastKill = rows;
      kills++;
      let event = `kill ${kills} at ${((Date.now() - started) / 1000).toFixed(1)} s (${rows} CRM rows)`;
      worker = await s.startWorker('process');
      if (kills === plan.temporalAfterKill) {
        await sleep(1_000 + random() * 2_000);
        await ctx.stack.crashTemporal();
        event += ', Temporal SIGKILLed and restarted from its state file under the new worker';
        await sleep(500);
        if (worker.exited()) {
          selfExits++;
          event += ' (the worker exited on its own)';
          worker = await s.startWorker('process');
        }
      }
      if (kills === plan.postgresAfterKill) {
        if (ctx.stack.canRestartPostgres) {
          await sleep(1_000 + random() * 2_000);
          await ctx.stack.restartPostgres();
          event += ', Postgres restarted under the new worker';
          await sleep(500);
          if (worker.exited()) {
            selfExits++;
            event += ' (the worker exited on its own)';
            worker = await s.startWorker('process');
          }
        } else event += ', Postgres restart skipped (Postgres given by URL)';
      }
      events.push(event);
      ctx.log(`  ${event}`);
    }
    ctx.log(`  kills done after ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the load`);
    const run = await awaitBootstrap(handle, 300_000 + ctx.scale * 20, started);
    if (worker.exited()) selfExits++;
    const verdict = await verifyPersons(s, LOAD.since, LOAD.until);
    const enough = kills >= plan.kills;
    return {
      outcome: `${loadSummary(run)}; ${kills} SIGKILLs${enough ? '' : ` (load finished before the ${plan.kills} planned)`}${selfExits ? `, ${selfExits} worker exits not caused by a kill` : ''}; ${verdict.detail}. Kill log: ${events.join('; ')}`,
      lost: verdict.lost,
      duplicates: verdict.duplicates,
      passed: run.result !== undefined && enough && verdict.lost === 0 && verdict.duplicates === 0 && verdict.differences === 0,
    };
  } finally {
    await s.close();
  }
}

export function crashCases(settings: { kills: number; seed: number }): CaseDef[] {
  const kills = settings.kills;
  return [
    {
      suite: 'crash',
      name: 'bootstrap under SIGKILL, Temporal and Postgres restarts',
      injected: `${kills} worker SIGKILLs at seeded random points (seed ${settings.seed}); Temporal dev server SIGKILLed and restarted from its SQLite file after kill ${Math.min(3, kills)}; Postgres restarted after kill ${Math.min(6, kills)}`,
      run: (ctx) =>
        crashBootstrap(ctx, {
          kills,
          seed: settings.seed,
          temporalAfterKill: Math.min(3, kills),
          postgresAfterKill: Math.min(6, kills),
          loadSeconds: Math.max(30, kills * 8),
          killDelayMs: [1_500, 6_000],
        }),
    },
  ];
}
