import { prng } from '../../emulator/faults.js';
import { awaitBootstrap, LOAD, loadSummary, startBootstrap } from '../bootstrap-run.js';
import type { CaseContext, CaseDef, CaseOutcome } from '../case.js';
import { Scenario, type WorkerHandle } from '../scenario.js';
import { BothSidesUsers, describeStatus, startSyncLoop, statusUntil, stopSyncLoop, syncNow, syncStatus } from '../sync-run.js';
import { crmPersons, duplicateKeys, verifyLoad } from '../verify.js';

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

/** The sync-cycle case's size: the cycles, not the bootstrap, are under test. */
const SYNC_CRASH_LEADS = 2_000;
const SYNC_CRASH_INTERVAL = 3;

/**
 * How soon a download on a killed worker is retried elsewhere (production: 30 s). 3 s was too tight
 * on a loaded machine once the ingest heartbeats only after each committed batch (89e3f79): every
 * attempt of a 100k load timed out and the windows failed.
 */
const CRASH_HEARTBEAT = '10 seconds';

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
    const handle = await startBootstrap(s, `reliability-crash-${plan.seed}`, CRASH_HEARTBEAT);
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
    ctx.log(`  load: ${loadSummary(run)}; checking`);
    const verdict = await verifyLoad(s, LOAD.since, LOAD.until);
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

export interface SyncCrashPlan {
  /** Leads seeded (and bootstrapped) before the loop starts. */
  leads: number;
  /** Worker SIGKILLs while cycles run. */
  kills: number;
  seed: number;
  temporalAfterKill: number;
  postgresAfterKill: number;
  /** The loop's interval (kept short: cycles must follow each other quickly). */
  intervalSeconds: number;
  /** Random wait from a cycle's start to the kill, ms. */
  killDelayMs: [number, number];
  /** How long a cycle may take to finish after a kill before the case reports it stuck. */
  stallMs: number;
}

/**
 * Sync cycles under SIGKILL: a bootstrap (every sales phase), then `syncLoop` with a short
 * interval while users change both sides between cycles; each kill waits until a cycle finished
 * since the previous kill (status query), lets users change both sides, then lands at a random
 * point of the next cycle; Temporal and Postgres are restarted between cycles. Then an idle cycle
 * and the check of both directions: reconciliation at zero differences, every created record on
 * the other side once, no duplicate keys, nothing ledgered.
 */
export async function crashSyncCycles(ctx: CaseContext, plan: SyncCrashPlan): Promise<CaseOutcome> {
  const nowMs = Date.now();
  // Leads from the 20 days before now: the loop continues from the bootstrap's end (now), and the check's window covers both.
  const from = new Date(nowMs - 20 * 86_400_000).toISOString();
  const to = new Date(nowMs - 3_600_000).toISOString();
  const s = await Scenario.open(ctx.stack, { leads: plan.leads, from, to, emulator: { bulk: { export: { rowsPerSecond: 0 }, import: { rowsPerSecond: 0 } } } });
  // The lookup field the push writes each CRM person's id to.
  s.emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const random = prng(plan.seed);
  const events: string[] = [];
  const problems: string[] = [];
  let selfExits = 0;
  let users: BothSidesUsers | undefined;
  try {
    let worker: WorkerHandle = await s.startWorker('process');
    const boot = await awaitBootstrap(await startBootstrap(s, `reliability-sync-crash-boot-${plan.seed}`, CRASH_HEARTBEAT, { since: from }), 300_000 + plan.leads * 50);
    if (!boot.result) return { outcome: `bootstrap before the loop: ${loadSummary(boot)}`, lost: null, duplicates: null, passed: false };
    ctx.log(`  bootstrap: ${loadSummary(boot)}; starting the loop`);
    users = await BothSidesUsers.open(s, random);
    const handle = await startSyncLoop(s, `reliability-sync-crash-${plan.seed}`, plan.intervalSeconds);
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    let kills = 0;
    let cyclesAtLastKill = 0;
    while (kills < plan.kills) {
      // A cycle finished since the previous kill: the loop moves despite it.
      const moved = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) > cyclesAtLastKill, plan.stallMs);
      if (!moved.ok) {
        problems.push(`no cycle finished within ${plan.stallMs / 1000} s after kill ${kills}: ${describeStatus(moved.last)}`);
        break;
      }
      // Users change both sides while the loop sleeps, well before the next cycle reads: Marketo's
      // timestamps have second resolution, so a change in the second of a read could fall on either side of it.
      const nextRun = moved.last?.nextRunAt ? Date.parse(moved.last.nextRunAt) : Date.now();
      if (nextRun - Date.now() < 1_500) {
        cyclesAtLastKill = moved.last?.lastCycle?.number ?? cyclesAtLastKill;
        continue;
      }
      await users.round();
      const cycle = moved.last!.cycles;
      // The kill lands in the next cycle, a random time after it started.
      const running = await statusUntil(handle, (st) => st.cycles > cycle, plan.stallMs);
      if (!running.ok) {
        problems.push(`cycle ${cycle + 1} never started: ${describeStatus(running.last)}`);
        break;
      }
      await sleep(plan.killDelayMs[0] + random() * (plan.killDelayMs[1] - plan.killDelayMs[0]));
      const at = await syncStatus(handle);
      await worker.kill('SIGKILL');
      kills++;
      cyclesAtLastKill = at?.lastCycle?.number ?? cycle;
      let event = `kill ${kills} at ${elapsed()} (${describeStatus(at)})`;
      worker = await s.startWorker('process');
      if (kills === plan.temporalAfterKill) {
        await ctx.stack.crashTemporal();
        event += ', Temporal SIGKILLed and restarted from its state file';
        await sleep(500);
        if (worker.exited()) {
          selfExits++;
          worker = await s.startWorker('process');
        }
      }
      if (kills === plan.postgresAfterKill) {
        if (ctx.stack.canRestartPostgres) {
          await ctx.stack.restartPostgres();
          event += ', Postgres restarted';
          await sleep(500);
          if (worker.exited()) {
            selfExits++;
            worker = await s.startWorker('process');
          }
        } else event += ', Postgres restart skipped (Postgres given by URL)';
      }
      events.push(event);
      ctx.log(`  ${event}`);
    }
    // The last changes carried, then a cycle with nothing to carry.
    let idle = 'no idle cycle';
    if (problems.length === 0) {
      const settled = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) > cyclesAtLastKill, plan.stallMs);
      if (!settled.ok) problems.push(`no cycle finished within ${plan.stallMs / 1000} s after the last kill: ${describeStatus(settled.last)}`);
      else {
        const mark = settled.last!.lastCycle!.number;
        await syncNow(handle);
        const next = await statusUntil(handle, (st) => st.state !== 'running' && (st.lastCycle?.number ?? 0) > mark, plan.stallMs);
        const c = next.last?.lastCycle;
        if (!next.ok || !c) problems.push(`the idle cycle did not finish within ${plan.stallMs / 1000} s: ${describeStatus(next.last)}`);
        else {
          const moved = c.steps.filter((st) => st.written > 0 || st.skipped > 0);
          idle = `idle cycle ${c.number} ${c.outcome}: ${moved.length ? `still moving ${moved.map((st) => `${st.step} ${st.written}+${st.skipped}`).join(', ')}` : 'nothing to carry'}`;
          if (c.outcome !== 'succeeded' || moved.length) problems.push(idle);
        }
      }
    }
    ctx.log(`  ${idle}; stopping the loop and checking`);
    const stopped = await stopSyncLoop(handle, 60_000);
    if (worker.exited()) selfExits++;
    const history = await s.store.cycles.recent(500);
    const failedCycles = history.filter((c) => c.status === 'failed');
    const openCycles = history.filter((c) => c.status !== 'failed' && c.status !== 'succeeded').length;
    // Errors name steps and Marketo codes, never lead values; cut short for the table.
    const why = [...new Set(failedCycles.map((c) => (c.error ?? c.status).slice(0, 160)))];
    const sides = await users.check();
    const verdict = await verifyLoad(s, from, new Date().toISOString());
    const keys = await duplicateKeys(s.crm.pool);
    const ledger = await s.store.errors.list({ status: 'open' });
    const codes = [...new Set(ledger.map((e) => e.code))].join(', ');
    const c = users.counts;
    const enough = kills >= plan.kills;
    const lost = verdict.lost + sides.lost;
    const duplicates = Math.max(verdict.duplicates, keys.total) + sides.duplicates;
    return {
      outcome:
        `bootstrap ${loadSummary(boot)}; ${history.length} cycles (${failedCycles.length} failed${why.length ? `: ${why.join(' / ')}` : ''}${openCycles ? `, ${openCycles} never closed` : ''}), ${kills} SIGKILLs${enough ? '' : ` of ${plan.kills} planned`}${selfExits ? `, ${selfExits} worker exits not caused by a kill` : ''}; ` +
        `users: ${c.crmCreates} CRM creates, ${c.crmEdits} CRM edits, ${c.marketoCreates} Marketo creates, ${c.marketoEdits} Marketo edits; ${idle}; ${stopped}; ` +
        `${sides.detail}; ${verdict.detail}; ledger ${ledger.length}${codes ? ` (${codes})` : ''}` +
        `${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ''}. Kill log: ${events.join('; ') || 'none'}`,
      lost,
      duplicates,
      passed: enough && problems.length === 0 && lost === 0 && duplicates === 0 && verdict.differences === 0 && ledger.length === 0,
    };
  } finally {
    await users?.close();
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
    {
      suite: 'crash',
      name: 'sync cycles under SIGKILL, Temporal and Postgres restarts',
      injected: `after a bootstrap of ${SYNC_CRASH_LEADS} leads, syncLoop every ${SYNC_CRASH_INTERVAL} s with CRM and Marketo users changing both sides between cycles; ${kills} worker SIGKILLs, each 0.2–3 s into a cycle after the previous kill's cycle finished (seed ${settings.seed}); Temporal SIGKILLed and restarted from its SQLite file after kill ${Math.min(3, kills)}; Postgres restarted after kill ${Math.min(6, kills)}`,
      run: (ctx) =>
        crashSyncCycles(ctx, {
          leads: SYNC_CRASH_LEADS,
          kills,
          seed: settings.seed,
          temporalAfterKill: Math.min(3, kills),
          postgresAfterKill: Math.min(6, kills),
          intervalSeconds: SYNC_CRASH_INTERVAL,
          killDelayMs: [200, 3_000],
          stallMs: 180_000,
        }),
    },
  ];
}
