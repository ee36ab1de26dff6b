import { prng } from '../../emulator/faults.js';
import { awaitBootstrap, LOAD, loadSummary, startBootstrap } from '../bootstrap-run.js';
import type { CaseContext, CaseDef, CaseOutcome } from '../case.js';
import { Scenario, type WorkerHandle } from '../scenario.js';
import { CYCLE_STEPS, type SyncStatus } from '../../workflows/sync-types.js';
import { BothSidesUsers, describeStatus, startSyncLoop, statusUntil, stopSyncLoop, syncNow, syncStatus, type SyncLoopHandle } from '../sync-run.js';
import { crmRows, duplicateKeys, verifyLoad } from '../verify.js';

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

/** The sync-cycle case's size: the cycles, not the bootstrap, are under test; enough leads for a mass change past the pull's bulk threshold (3,000). */
const SYNC_CRASH_LEADS = 4_000;
/** Cycles are started by `syncNow` once users have changed both sides; the interval only backs that up. */
const SYNC_CRASH_INTERVAL = 60;
const SYNC_CRASH_LATENCY = { rate: 0.5, ms: 250 };

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
      while (!(await finished()) && (await crmRows(s.crm.pool).catch(() => 0)) <= rowsAtLastKill) await sleep(200);
      const wait = plan.killDelayMs[0] + random() * (plan.killDelayMs[1] - plan.killDelayMs[0]);
      const until = Date.now() + wait;
      while (Date.now() < until && !(await finished())) await sleep(Math.min(250, Math.max(0, until - Date.now())));
      if (await finished()) break;
      const rows = await crmRows(s.crm.pool).catch(() => NaN);
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
  /** Leads seeded (and bootstrapped) before the loop starts; the bulk-extract target needs more than `bulkEdits`. */
  leads: number;
  /** Worker SIGKILLs while cycle steps run. */
  kills: number;
  seed: number;
  temporalAfterKill: number;
  postgresAfterKill: number;
  /** The loop's interval: long enough that the case starts each cycle with `syncNow` once users changed both sides. */
  intervalSeconds: number;
  /** Random wait from the targeted step's start (as `status` shows it) to the kill, ms. */
  killDelayMs: [number, number];
  /** How long a cycle may take to finish after a kill before the case reports it stuck. */
  stallMs: number;
  /** Marketo leads a mass change touches for the bulk-extract target (the pull's bulk threshold is 3,000). */
  bulkEdits: number;
  /** CRM contacts a mass update touches for the push target (300 a call). */
  pushEdits: number;
  /** Accounts, opportunities and sales users edited for the sales target. */
  salesEdits: number;
  /** Latency added to this share of Marketo calls while the loop runs (real Marketo answers in 0.2–2 s). */
  latency: { rate: number; ms: number };
  /** Fewest kills that must land while a step runs: `status` shows the step and Temporal holds its attempt as started (a kill during the loop's sleep proves little). */
  minInStep: number;
}

/** What a kill aims at: the steps it waits for, and the users' work that gives them something to do. */
interface KillTarget {
  name: string;
  steps: readonly string[];
  prepare(users: BothSidesUsers, plan: SyncCrashPlan): Promise<string>;
}

const KILL_TARGETS: readonly KillTarget[] = [
  {
    name: 'push (REST)',
    steps: ['pushLeads'],
    prepare: async (u, p) => `CRM mass update of ${await u.crmMassEdit(p.pushEdits)} contacts`,
  },
  {
    name: 'pull (REST by id)',
    steps: ['pullLeadsAndCompanies'],
    prepare: async (u, p) => `Marketo change of ${u.marketoMassEdit(Math.max(1, Math.round(p.bulkEdits / 5)))} leads`,
  },
  {
    name: 'pull (Bulk Lead Extract)',
    steps: ['pullLeadsAndCompanies'],
    prepare: async (u, p) => `Marketo mass change of ${u.marketoMassEdit(p.bulkEdits)} leads`,
  },
  {
    name: 'sales push',
    steps: ['pushSalesPersons', 'pushCompanies', 'pushOpportunities', 'pushOpportunityRoles'],
    prepare: async (u, p) => {
      await u.salesEdits(p.salesEdits);
      return `sales edits of ${p.salesEdits} accounts, opportunities and sales users`;
    },
  },
];

/** Kill targets in a seeded order: every target once per round of them, so any 4 kills in a row hit all four. */
function killOrder(random: () => number, kills: number): KillTarget[] {
  const out: KillTarget[] = [];
  while (out.length < kills) {
    const round = [...KILL_TARGETS];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    out.push(...round);
  }
  return out.slice(0, kills);
}

/** Status polls while waiting for a targeted step: steps with work last hundreds of ms, so 40 ms catches their start. */
async function untilStep(handle: SyncLoopHandle, cycle: number, steps: readonly string[], timeoutMs: number): Promise<{ hit: SyncStatus | undefined; last: SyncStatus | undefined }> {
  const until = Date.now() + timeoutMs;
  let last: SyncStatus | undefined;
  while (Date.now() < until) {
    const st = await syncStatus(handle);
    if (st) {
      last = st;
      if (st.cycles >= cycle && st.state === 'running' && st.step && steps.includes(st.step.activity)) return { hit: st, last };
      // The cycle ended without the step showing: missed.
      if ((st.lastCycle?.number ?? 0) >= cycle && st.state !== 'running') return { hit: undefined, last };
    }
    await sleep(40);
  }
  return { hit: undefined, last };
}

/**
 * Sync cycles under SIGKILL: a bootstrap (every sales phase), then `syncLoop` while users change
 * both sides; before each cycle the users do work for the kill's target step (a CRM mass update
 * for the push, a Marketo change of a few hundred leads for the pull by id, a mass change past the
 * bulk threshold for the Bulk Lead Extract, sales edits for the sales push), the case starts the
 * cycle with `syncNow`, polls `status` until the target step runs, and kills the worker a random
 * short delay later; a share of Marketo calls is slowed meanwhile. Targets follow a seeded order.
 * Temporal and Postgres are restarted after chosen kills. The case fails when fewer than
 * `minInStep` kills landed while a step ran. Then an idle cycle and the check of both directions:
 * reconciliation at zero differences, every created record on the other side once, no duplicate
 * keys, nothing ledgered.
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
    s.emulator.runtime.faults.add({ id: 'cycle-latency', path: '/*', latencyMs: plan.latency.ms, rate: plan.latency.rate });
    const handle = await startSyncLoop(s, `reliability-sync-crash-${plan.seed}`, plan.intervalSeconds);
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const order = killOrder(random, plan.kills);
    const killedCycles = new Map<number, { kill: number; step: string }>();
    const figures: string[] = [];
    let kills = 0;
    let inStep = 0;
    let lastKilledCycle = 0;
    while (kills < plan.kills) {
      // The cycle of the previous kill finished: the loop moves despite it.
      const moved = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) >= Math.max(1, lastKilledCycle), plan.stallMs);
      if (!moved.ok) {
        problems.push(`no cycle finished within ${plan.stallMs / 1000} s after kill ${kills}: ${describeStatus(moved.last)}`);
        break;
      }
      killedStepFigures(moved.last, killedCycles, figures);
      const target = order[kills]!;
      await users.round();
      const work = await target.prepare(users, plan);
      // Marketo's timestamps have second resolution: the cycle reads after the second of the changes.
      await sleep(1_100);
      const cycle = moved.last!.cycles + 1;
      await syncNow(handle);
      const seen = await untilStep(handle, cycle, target.steps, plan.stallMs);
      if (!seen.hit) {
        // Not seen running (finished between two polls): the next kill gets the same target again.
        events.push(`target ${target.name} not seen running in cycle ${cycle} (${describeStatus(seen.last)}); no kill`);
        order.splice(kills, 0, target);
        lastKilledCycle = cycle;
        if (events.filter((e) => e.startsWith('target')).length > plan.kills) {
          problems.push('more target steps missed than kills planned');
          break;
        }
        continue;
      }
      await sleep(plan.killDelayMs[0] + random() * (plan.killDelayMs[1] - plan.killDelayMs[0]));
      const at = await syncStatus(handle);
      await worker.kill('SIGKILL');
      kills++;
      lastKilledCycle = cycle;
      // Temporal's word, not only the status: a step attempt still started on the dead (only) worker was cut.
      const cut = await startedSteps(handle);
      const running = at?.state === 'running' && at.step !== undefined && at.step.seed > 0 && cut.some((a) => a.name === at.step!.activity);
      if (running) {
        inStep++;
        killedCycles.set(cycle, { kill: kills, step: at.step!.activity });
      }
      const temporalSays = cut.length ? `Temporal: ${cut.map((a) => `${a.name} attempt ${a.attempt}`).join(', ')} started` : 'Temporal: no step attempt started';
      let event = `kill ${kills} at ${elapsed()}, target ${target.name} after ${work}: ${running ? 'in' : 'NOT in a step:'} ${describeStatus(at)}; ${temporalSays}`;
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
    s.emulator.runtime.faults.remove('cycle-latency');
    // The last changes carried, then a cycle with nothing to carry.
    let idle = 'no idle cycle';
    if (problems.length === 0) {
      const settled = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) >= lastKilledCycle, plan.stallMs);
      if (!settled.ok) problems.push(`no cycle finished within ${plan.stallMs / 1000} s after the last kill: ${describeStatus(settled.last)}`);
      else {
        killedStepFigures(settled.last, killedCycles, figures);
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
    const killedModes = figures.join('; ');
    const sides = await users.check();
    const verdict = await verifyLoad(s, from, new Date().toISOString());
    const keys = await duplicateKeys(s.crm.pool);
    const ledger = await s.store.errors.list({ status: 'open' });
    const codes = [...new Set(ledger.map((e) => e.code))].join(', ');
    const c = users.counts;
    const enough = kills >= plan.kills;
    if (inStep < plan.minInStep) problems.push(`only ${inStep} of ${kills} kills landed while a step ran (at least ${plan.minInStep} required)`);
    const lost = verdict.lost + sides.lost;
    const duplicates = Math.max(verdict.duplicates, keys.total) + sides.duplicates;
    return {
      outcome:
        `bootstrap ${loadSummary(boot)}; ${history.length} cycles (${failedCycles.length} failed${why.length ? `: ${why.join(' / ')}` : ''}${openCycles ? `, ${openCycles} never closed` : ''}), ${kills} SIGKILLs${enough ? '' : ` of ${plan.kills} planned`}, ${inStep} of them while a step ran${killedModes ? ` (${killedModes})` : ''}${selfExits ? `, ${selfExits} worker exits not caused by a kill` : ''}; ` +
        `users: ${c.crmCreates} CRM creates, ${c.crmEdits} CRM edits, ${c.salesEdits} CRM sales edits, ${c.marketoCreates} Marketo creates, ${c.marketoEdits} Marketo edits; Marketo calls slowed: ${Math.round(plan.latency.rate * 100)} % by ${plan.latency.ms} ms; ${idle}; ${stopped}; ` +
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

/**
 * The loop's activity attempts Temporal holds as started, read right after a kill: with the only
 * worker dead, a started attempt is one the kill cut (it is retried after the heartbeat timeout).
 */
async function startedSteps(handle: SyncLoopHandle): Promise<{ name: string; attempt: number }[]> {
  try {
    const d = await handle.describe();
    return (d.raw.pendingActivities ?? [])
      .filter((a) => Number(a.state) === STARTED && STEP_ACTIVITIES.has(a.activityType?.name ?? ''))
      .map((a) => ({ name: a.activityType?.name ?? '?', attempt: a.attempt ?? 0 }));
  } catch {
    return [];
  }
}
/** PENDING_ACTIVITY_STATE_STARTED in Temporal's API. */
const STARTED = 2;
const STEP_ACTIVITIES = new Set(CYCLE_STEPS.map((st) => st.activity));

/** How a killed step ran in the end, from the finished cycle's figures (e.g. "pullLeadsAndCompanies bulk, 3100 written, 2 runs"). */
function killedStepFigures(last: SyncStatus | undefined, killed: Map<number, { kill: number; step: string }>, into: string[]): void {
  const c = last?.lastCycle;
  const k = c ? killed.get(c.number) : undefined;
  if (!c || !k) return;
  killed.delete(c.number);
  const f = c.steps.find((st) => st.step === k.step);
  into.push(`kill ${k.kill}: ${k.step}${f ? ` ${f.mode ?? ''} ${f.written} written, ${f.runs} run${f.runs === 1 ? '' : 's'}` : ' not in the cycle figures'}, cycle ${c.outcome}`.replace('  ', ' '));
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
      injected: `after a bootstrap of ${SYNC_CRASH_LEADS} leads, syncLoop with CRM and Marketo users changing both sides before each cycle and ${Math.round(SYNC_CRASH_LATENCY.rate * 100)} % of Marketo calls slowed by ${SYNC_CRASH_LATENCY.ms} ms; ${kills} worker SIGKILLs, each 50–500 ms after its target step started (status polled every 40 ms); targets in a seeded order (seed ${settings.seed}), each given work first: push (CRM mass update of 900 contacts), pull by id (Marketo change of 620 leads), pull by Bulk Lead Extract (Marketo mass change of 3,100 leads), sales push (10 accounts, opportunities and sales users); Temporal SIGKILLed and restarted from its SQLite file after kill ${Math.min(3, kills)}; Postgres restarted after kill ${Math.min(6, kills)}; fails when fewer than ${Math.ceil(kills * 0.8)} kills land in a running step (status shows the step just before the kill and Temporal holds an attempt of it as started just after)`,
      run: (ctx) =>
        crashSyncCycles(ctx, {
          leads: SYNC_CRASH_LEADS,
          kills,
          seed: settings.seed,
          temporalAfterKill: Math.min(3, kills),
          postgresAfterKill: Math.min(6, kills),
          intervalSeconds: SYNC_CRASH_INTERVAL,
          killDelayMs: [50, 500],
          stallMs: 180_000,
          bulkEdits: 3_100,
          pushEdits: 900,
          salesEdits: 10,
          latency: SYNC_CRASH_LATENCY,
          minInStep: Math.ceil(kills * 0.8),
        }),
    },
  ];
}
