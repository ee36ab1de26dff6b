import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import type { MarketingActivities } from '../activities/marketing-phases.js';
import type { MembersLoaded, ParentsLoaded } from '../activities/marketing-static-lists.js';
import type * as Names from '../src/marketing/sink-names.js';
import type { PhaseContext } from './bootstrap-phase.js';
import type { BootstrapEntity } from './bootstrap-types.js';
import type { PhaseSpec } from './bootstrap.js';

/**
 * The seed's "other record types as required", after salespersons: custom objects, programs with
 * their membership, static lists with theirs, and the activity types an admin selected.
 * docs/marketing-data.md explains what lands where and why each read is the cheaper one.
 */

// The sink registry's names, checked against src/marketing/sink-names.ts by their literal types.
const MARKETING_ACTIVITIES_SINK: typeof Names.MARKETING_ACTIVITIES_SINK = 'marketingActivities';
const MARKETING_PROGRAM_MEMBERS_SINK: typeof Names.MARKETING_PROGRAM_MEMBERS_SINK = 'marketingProgramMembers';
const MARKETING_CUSTOM_OBJECTS_SINK: typeof Names.MARKETING_CUSTOM_OBJECTS_SINK = 'marketingCustomObjects';
const PROGRAMS_PER_MEMBER_EXPORT: typeof Names.PROGRAMS_PER_MEMBER_EXPORT = 10;
/** Delete Lead (37): a bulk activity export refuses it; deleted leads are read with Get Deleted Leads. */
const UNEXPORTABLE_ACTIVITY_TYPES: readonly number[] = [37];

// Pure and instant: a short start-to-close, so a worker killed while it ran costs a minute, not
// ten (the crash suite's bootstrap case waited out the ten).
const acts = proxyActivities<Pick<BootstrapActivities, 'planExportWindows'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * The parents' loads (custom object describe and table, programs, static lists) page through
 * Marketo for a while and heartbeat on a timer (activities/liveness.ts): a worker killed in one is
 * noticed in 30 s instead of at the 10-minute start-to-close, which held all three phases.
 */
const parents = proxyActivities<MarketingActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** A large list is read page by page for a while; a dead worker is noticed by the heartbeat. */
const listMembers = proxyActivities<MarketingActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
}).loadMarketingListMembers;

/** Re-reads whole programs page by page; heartbeats each page. */
const pruneProgramMembers = proxyActivities<MarketingActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
}).pruneMarketingProgramMembers;

/** Static lists whose members are read at once (each a sequence of REST calls; Marketo allows 10 in flight). */
const LISTS_AT_ONCE = 3;

function windows(ctx: PhaseContext) {
  return acts.planExportWindows({ startAt: ctx.since, endAt: ctx.highWatermark, ...(ctx.setting.maxWindowDays ? { maxDays: ctx.setting.maxWindowDays } : {}) });
}

function count(ctx: PhaseContext, loaded: Omit<ParentsLoaded, 'ids'> | MembersLoaded): void {
  ctx.progress.records += loaded.records;
  ctx.progress.written += loaded.written;
  ctx.progress.failed += loaded.failed;
  ctx.progress.apiCalls += loaded.apiCalls;
}

/**
 * Custom objects enabled in the mapping (or the setting's `apiNames`): describe, provision the CRM
 * table, then bulk custom object exports by updatedAt windows from the low watermark.
 */
export async function customObjectsPhase(ctx: PhaseContext): Promise<void> {
  const prepared = await parents.prepareMarketingCustomObjects(ctx.setting.apiNames ? { apiNames: ctx.setting.apiNames } : {});
  ctx.progress.apiCalls += prepared.apiCalls;
  if (prepared.targets.length === 0 || !(await ctx.checkpoint())) return;
  const planned = await windows(ctx);
  // Every object's windows go to the shared scheduler at once; it keeps Marketo's slots full.
  await Promise.all(prepared.targets.map((t) => ctx.runWindows({ kind: 'customObjects', apiName: t.apiName }, MARKETING_CUSTOM_OBJECTS_SINK, planned)));
}

/**
 * Programs → campaigns (asset API, 200 per call), then their membership → campaign members by
 * bulk program member exports of up to 10 programs each.
 */
export async function programsPhase(ctx: PhaseContext): Promise<void> {
  const programs = await parents.loadMarketingPrograms();
  count(ctx, programs);
  if (programs.ids.length === 0 || !(await ctx.checkpoint())) return;
  // Membership is current state, not history: one job per group of programs, no date filter; the
  // window only names the job (from the low to the high watermark).
  const window = { startAt: ctx.since, endAt: ctx.highWatermark };
  const groups: number[][] = [];
  for (let i = 0; i < programs.ids.length; i += PROGRAMS_PER_MEMBER_EXPORT) groups.push(programs.ids.slice(i, i + PROGRAMS_PER_MEMBER_EXPORT));
  await Promise.all(
    groups.map(async (programIds) => {
      await ctx.runWindows({ kind: 'programMembers', programIds }, MARKETING_PROGRAM_MEMBERS_SINK, [window]);
      // The export adds and updates members; only a whole re-read can say who left.
      if (ctx.setting.pruneMembers && (await ctx.checkpoint())) count(ctx, { records: 0, written: 0, failed: 0, ...(await pruneProgramMembers({ programIds })) });
    }),
  );
}

/**
 * Static lists → CRM static lists, then each list's members through the REST list membership
 * read (a few lists at a time; each list counts as one "window" in progress).
 */
export async function staticListsPhase(ctx: PhaseContext): Promise<void> {
  const lists = await parents.loadMarketingStaticLists();
  count(ctx, lists);
  ctx.progress.windowsTotal += lists.ids.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < lists.ids.length) {
      // Claimed before the checkpoint's await: the workers share `next`, and a list checked as
      // present could be taken by another worker while this one waited.
      const listId = lists.ids[next++]!;
      if (!(await ctx.checkpoint())) return;
      count(ctx, await listMembers({ listId }));
      ctx.progress.windowsDone += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTS_AT_ONCE, lists.ids.length) }, worker));
}

/**
 * Activities of the selected types (the setting's `activityTypeIds`; none selected: nothing is
 * read) by bulk activity export over createdAt windows of at most 31 days.
 */
export async function activitiesPhase(ctx: PhaseContext): Promise<void> {
  const typeIds = [...new Set(ctx.setting.activityTypeIds ?? [])];
  if (typeIds.length === 0) return;
  const refused = typeIds.filter((id) => UNEXPORTABLE_ACTIVITY_TYPES.includes(id) || !Number.isInteger(id) || id <= 0);
  if (refused.length > 0) {
    throw ApplicationFailure.nonRetryable(`activity types ${refused.join(', ')} cannot be bulk exported (Delete Lead, 37, is read with Get Deleted Leads)`, 'ActivityTypeNotExportable');
  }
  await ctx.runWindows({ kind: 'activities', activityTypeIds: typeIds }, MARKETING_ACTIVITIES_SINK, await windows(ctx));
}

// Every marketing record points at people: each phase waits for the leads (the id map). They do
// not wait for each other, so their exports share Marketo's slots.
const phase = (entity: BootstrapEntity, run: PhaseSpec['run']): PhaseSpec => ({ entity, after: ['leads'], run });

/** The marketing phases, in the seed's order, for the bootstrap parent's PHASES. */
export const MARKETING_PHASES: PhaseSpec[] = [
  phase('customObjects', customObjectsPhase),
  phase('programs', programsPhase),
  phase('staticLists', staticListsPhase),
  phase('activities', activitiesPhase),
];
