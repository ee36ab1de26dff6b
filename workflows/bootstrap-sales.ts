import { patched, proxyActivities } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import type { StepOutcome } from '../activities/bootstrap-sales.js';
import type { PhaseContext } from './bootstrap-phase.js';
import { PRELOAD_PHASE, type PreloadKind } from './bootstrap-types.js';
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
  await inRounds(ctx, (last) => drain(ctx, KEYS_PER_STEP, () => acts.loadOpportunityRoles({ runId: ctx.runId, maxKeys: KEYS_PER_STEP, requireLead: !last })));
}

/** SalesPersons by the externalSalesPersonId values seen on leads, companies and opportunities, then every owner set. */
async function salesPersonsPhase(ctx: FollowingPhaseContext): Promise<void> {
  const runId = ctx.runId;
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
  { entity: 'opportunityRoles', after: ['opportunities'], requires: ['opportunities'], follows: ['leads'], run: rolesPhase },
  { entity: 'salesPersons', after: [], follows: ['leads', 'companies', 'opportunities'], run: salesPersonsPhase },
];
