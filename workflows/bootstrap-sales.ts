import { patched, proxyActivities } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import type { RoundOutcome, StepOutcome } from '../activities/bootstrap-sales.js';
import type { PhaseContext } from './bootstrap-phase.js';
import { PRELOAD_PHASE, type PhaseProgress, type PreloadKind } from './bootstrap-types.js';
import type { FollowingPhaseContext, PhaseSpec } from './bootstrap.js';

// The sales steps heartbeat on a timer (activities/liveness.ts); the other activities called here
// answer within seconds.
const acts = proxyActivities<BootstrapActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Marketo's Add to Opportunity activity type: the only trace of which leads have which opportunities. */
export const ADD_TO_OPPORTUNITY = 34;
/** Keys per load step (10 Get calls of 300) and references per link step. */
const KEYS_PER_STEP = 3_000;
const LINKS_PER_STEP = 10_000;

/**
 * Runs started before this marker ran each follower phase as separate load and link steps after
 * every upstream window (at 1M leads: 249 company steps, 392 salesperson steps, nearly all
 * finding nothing) and loaded opportunities and roles only after the last Add to Opportunity
 * window. With it: a follower round is one activity, rounds run only when their upstream loaded
 * something and then about ROUNDS times a run, and roles follow the Add to Opportunity windows.
 */
export const ROUNDS_BY_WORK = 'bootstrap-sales-rounds-by-work';
/**
 * Rounds a follower phase runs while its upstream phases still export (besides the last one).
 * A round's cost is one activity and a workflow task whatever it finds, and what it finds is set
 * in a few set-based writes; so a handful of rounds keeps the last round (after the last export)
 * to a small share of the work at any scale.
 */
const ROUNDS = 10;

/** ≤31-day createdAt windows (or the entity's own scaled-down length) from the phase's low watermark to the high one. */
export function planWindows(ctx: PhaseContext) {
  return acts.planExportWindows({ startAt: ctx.since, endAt: ctx.highWatermark, ...(ctx.setting.maxWindowDays ? { maxDays: ctx.setting.maxWindowDays } : {}) });
}

/** Runs a step until it takes less than a full batch, counting each call as one step of the phase. */
async function drain(ctx: PhaseContext, batch: number, step: () => Promise<StepOutcome>): Promise<void> {
  for (;;) {
    if (!(await ctx.checkpoint())) return;
    ctx.progress.windowsTotal += 1;
    const out = await step();
    ctx.progress.windowsDone += 1;
    ctx.progress.records += out.records;
    ctx.progress.written += out.written;
    ctx.progress.failed += out.failed;
    ctx.progress.apiCalls += out.apiCalls;
    if (out.taken < batch) return;
  }
}

/** Windows the followed phases have landed so far, and will export in all (as planned so far). */
function upstreamWindows(ctx: FollowingPhaseContext): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const name of ctx.followed) {
    const p = ctx.phases[name];
    if (!p) continue;
    done += p.windowsDone;
    total += p.windowsTotal;
  }
  return { done, total };
}

/**
 * Rounds while the followed phases still export, run only when `work()` (a count of what the
 * upstream phases loaded or landed that can leave this phase something to do) moved since the
 * last round, and then only after another 1/ROUNDS of the upstream windows landed; the round
 * after they all finished is the last and takes everything (keys of a failed preload, of a
 * resumed run, named only by opportunities).
 */
async function roundsByWork(ctx: FollowingPhaseContext, work: () => number, round: (last: boolean) => Promise<void>): Promise<void> {
  // Nothing is loaded at the start: the first round waits like the others.
  let seen = work();
  let landed = upstreamWindows(ctx).done;
  for (;;) {
    await ctx.upstreamUntil(() => {
      const windows = upstreamWindows(ctx);
      return work() !== seen && windows.done >= landed + Math.max(1, Math.ceil(windows.total / ROUNDS));
    });
    const last = ctx.upstreamDone();
    if (!(await ctx.checkpoint())) return;
    seen = work();
    landed = upstreamWindows(ctx).done;
    await round(last);
    if (last) return;
  }
}

/** A follower round: one activity until the phase has nothing left (it stops after a bounded number of steps). */
async function followerRound(ctx: PhaseContext, phase: 'companies' | 'salesPersons'): Promise<void> {
  for (;;) {
    if (!(await ctx.checkpoint())) return;
    ctx.progress.windowsTotal += 1;
    const out: RoundOutcome = await acts.runFollowerRound({ runId: ctx.runId, phase, keysPerStep: KEYS_PER_STEP, linksPerStep: LINKS_PER_STEP });
    ctx.progress.windowsDone += 1;
    ctx.progress.records += out.records;
    ctx.progress.written += out.written;
    ctx.progress.failed += out.failed;
    ctx.progress.apiCalls += out.apiCalls;
    if (!out.more) return;
  }
}

/** What the lead ingest and the other sales phases have loaded or landed so far that a follower may act on. */
const loadedSoFar = (ctx: FollowingPhaseContext, counts: Partial<Record<string, (p: PhaseProgress) => number>>) =>
  Object.entries(counts).reduce((n, [name, count]) => n + (ctx.phases[name] ? count!(ctx.phases[name]) : 0), 0);

/** Rounds while the followed phases still stage keys; the round after they finished is the last. */
async function inRounds(ctx: FollowingPhaseContext, round: (last: boolean) => Promise<void>): Promise<void> {
  for (;;) {
    const last = ctx.upstreamDone();
    if (!(await ctx.checkpoint())) return;
    await round(last);
    if (last) return;
    await ctx.upstreamChanged();
  }
}

/**
 * Leads: Bulk Lead Extract by createdAt windows (docs/bootstrap.md explains the choice). The
 * ingest loads the companies and salespersons each batch names before writing it (when those
 * phases are enabled), so persons are written linked instead of updated by a link step later.
 */
async function leadsPhase(ctx: PhaseContext): Promise<void> {
  const windows = await planWindows(ctx);
  const preload = patched('bootstrap-preload-references')
    ? (Object.keys(PRELOAD_PHASE) as PreloadKind[]).filter((kind) => ctx.enabled(PRELOAD_PHASE[kind]))
    : [];
  await ctx.runWindows(preload.length > 0 ? { kind: 'leads', preload } : { kind: 'leads' }, 'leads', windows);
}

/** Companies by the externalCompanyId values seen on leads (and opportunities), then persons and opportunities linked to their accounts. */
async function companiesPhase(ctx: FollowingPhaseContext): Promise<void> {
  const runId = ctx.runId;
  if (patched(ROUNDS_BY_WORK)) {
    // The lead ingest loads the companies its batches name and writes its persons linked, so
    // mid-run work comes from the opportunities the Add to Opportunity windows loaded (their
    // companies and accounts); a failed preload's persons wait for the last round.
    await roundsByWork(ctx, () => loadedSoFar(ctx, { opportunities: (p) => p.windowsDone }), () => followerRound(ctx, 'companies'));
    return;
  }
  await inRounds(ctx, async () => {
    await drain(ctx, KEYS_PER_STEP, () => acts.loadSalesObjects({ runId, kind: 'company', maxKeys: KEYS_PER_STEP }));
    await drain(ctx, LINKS_PER_STEP, () => acts.linkSalesReferences({ runId, target: 'contactAccounts', limit: LINKS_PER_STEP }));
    await drain(ctx, LINKS_PER_STEP, () => acts.linkSalesReferences({ runId, target: 'opportunityAccounts', limit: LINKS_PER_STEP }));
  });
}

/** Add to Opportunity activities by bulk export over the same windows (staged), then the opportunities they name. */
async function opportunitiesPhase(ctx: PhaseContext): Promise<void> {
  await ctx.runWindows({ kind: 'activities', activityTypeIds: [ADD_TO_OPPORTUNITY] }, 'addToOpportunity', await planWindows(ctx));
  await drain(ctx, KEYS_PER_STEP, () => acts.loadSalesObjects({ runId: ctx.runId, kind: 'opportunity', maxKeys: KEYS_PER_STEP }));
}

/** Roles by their dedupe keys, for leads already written while the leads phase runs, the rest at the end. */
async function rolesPhase(ctx: FollowingPhaseContext): Promise<void> {
  if (patched(ROUNDS_BY_WORK)) {
    // The Add to Opportunity sink loads each window's opportunities as it stages their roles, so
    // a round can take them as soon as the window and the roles' leads landed. Whole Gets only
    // until the last round, which takes the rest (and roles whose lead is outside the load).
    await roundsByWork(
      ctx,
      () => loadedSoFar(ctx, { opportunities: (p) => p.windowsDone, leads: (p) => p.windowsDone }),
      (last) => drain(ctx, KEYS_PER_STEP, () => acts.loadOpportunityRoles({ runId: ctx.runId, maxKeys: KEYS_PER_STEP, requireLead: !last, wholeCalls: !last })),
    );
    return;
  }
  await inRounds(ctx, (last) => drain(ctx, KEYS_PER_STEP, () => acts.loadOpportunityRoles({ runId: ctx.runId, maxKeys: KEYS_PER_STEP, requireLead: !last })));
}

/** SalesPersons by the externalSalesPersonId values seen on leads, companies and opportunities, then every owner set. */
async function salesPersonsPhase(ctx: FollowingPhaseContext): Promise<void> {
  const runId = ctx.runId;
  if (patched(ROUNDS_BY_WORK)) {
    // Mid-run work: the salespersons of companies (preloaded by the lead ingest or loaded by the
    // companies phase) and of opportunities, and those accounts' and opportunities' owners.
    await roundsByWork(ctx, () => loadedSoFar(ctx, { companies: (p) => p.records, opportunities: (p) => p.windowsDone }), () => followerRound(ctx, 'salesPersons'));
    return;
  }
  await inRounds(ctx, async () => {
    await drain(ctx, KEYS_PER_STEP, () => acts.loadSalesObjects({ runId, kind: 'salesPerson', maxKeys: KEYS_PER_STEP }));
    for (const target of ['personOwners', 'accountOwners', 'opportunityOwners'] as const) {
      await drain(ctx, LINKS_PER_STEP, () => acts.linkSalesReferences({ runId, target, limit: LINKS_PER_STEP }));
    }
  });
}

/**
 * The lead database phases in the seed's order. Only the leads export and the Add to Opportunity
 * export need Marketo's export slots; the REST phases follow the phases that stage their keys,
 * so their work overlaps the exports instead of queueing behind them.
 */
export const SALES_PHASES: PhaseSpec[] = [
  { entity: 'leads', after: [], run: leadsPhase },
  { entity: 'companies', after: [], follows: ['leads', 'opportunities'], run: companiesPhase },
  { entity: 'opportunities', after: [], run: opportunitiesPhase },
  // With ROUNDS_BY_WORK roles run alongside the opportunities phase instead of after it.
  {
    entity: 'opportunityRoles',
    after: () => (patched(ROUNDS_BY_WORK) ? [] : ['opportunities']),
    requires: ['opportunities'],
    follows: () => (patched(ROUNDS_BY_WORK) ? ['leads', 'opportunities'] : ['leads']),
    run: rolesPhase,
  },
  { entity: 'salesPersons', after: [], follows: ['leads', 'companies', 'opportunities'], run: salesPersonsPhase },
];
