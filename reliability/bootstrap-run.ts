import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BootstrapResult } from '../workflows/bootstrap-types.js';
import type { bootstrap } from '../workflows/index.js';
import type { FaultRuleInput } from '../emulator/index.js';
import type { EntitySetting } from '../workflows/bootstrap-types.js';
import type { Scenario } from './scenario.js';

/**
 * The load every bootstrap case runs: leads seeded over 60 days, loaded in 10-day windows (7
 * export jobs, so faults meet creates, enqueues, polls and downloads of several jobs), with test
 * speed status polls, then the seeded companies, opportunities, their roles and salespersons, and
 * the marketing data (scenario.ts MARKETING_SEED): the custom object type, programs and their
 * members, static lists and theirs, and the selected activity types (export jobs of their own).
 */
export const LOAD = {
  from: '2024-01-01T00:00:00Z',
  to: '2024-03-01T00:00:00Z',
  since: '2024-01-01T00:00:00Z',
  until: '2024-03-01T23:59:59Z',
  maxWindowDays: 10,
} as const;

/** The phases every bootstrap case enables (the seed's bootstrapping order; the check reconciles each). */
export const LOADED_PHASES = ['leads', 'companies', 'opportunities', 'opportunityRoles', 'salesPersons', 'customObjects', 'programs', 'staticLists', 'activities'] as const;

/**
 * Activity types the activities phase loads: Add to List (24) and Change Status in Progression
 * (104), which the seed logs for every list and program member (types it logs for every lead, New
 * Lead and Change Data Value, would double the rows without testing anything more).
 */
export const LOADED_ACTIVITY_TYPES = [24, 104] as const;

/**
 * Marketo's 31-day windows for the custom object and activity exports (2 jobs each over the 60
 * days, beside the leads' 7 and one program member job): they still meet every kind of fault, and
 * the cases stay about as fast as before these phases ran.
 */
const MARKETING_WINDOW_DAYS = 31;

const PHASE_SETTINGS: Record<(typeof LOADED_PHASES)[number], EntitySetting> = {
  ...(Object.fromEntries(LOADED_PHASES.map((e) => [e, { enabled: true }])) as Record<(typeof LOADED_PHASES)[number], EntitySetting>),
  customObjects: { enabled: true, maxWindowDays: MARKETING_WINDOW_DAYS },
  activities: { enabled: true, activityTypeIds: [...LOADED_ACTIVITY_TYPES], maxWindowDays: MARKETING_WINDOW_DAYS },
};

/**
 * Calls only the marketing phases make, by emulator path. The fault cases' "any call" rules are
 * spent by the first calls of a load (describes, the first lead and Add to Opportunity exports)
 * before these phases start, so they need rules of their own. The activity export endpoints are
 * shared with the opportunities phase and cannot be aimed at by path.
 */
export const MARKETING_PATHS = {
  'Browse Programs': '/rest/asset/v1/program*',
  'Get Lists and list members': '/rest/v1/lists*',
  'program member export': '/bulk/v1/program/members/*',
  'custom object export': '/bulk/v1/customobjects/*',
  'custom object describe': '/rest/v1/customobjects/*',
  'activity type names': '/rest/v1/activities/types.json',
} as const;

/** The kinds of call fault the marketing paths meet, two per path in turn. */
const MARKETING_FAULT_KINDS: { name: string; rule: Omit<FaultRuleInput, 'path'> }[] = [
  { name: '503 page', rule: { httpStatus: 503 } },
  { name: '604 timeout', rule: { code: '604' } },
  { name: 'connection reset', rule: { reset: true } },
  { name: '606 rate limit', rule: { code: '606' } },
];

/**
 * Faults aimed at the marketing phases: every call of each marketing path fails until it has met
 * two kinds of fault (503, 604, reset, 606 in turn: path i meets kinds i and i+1). No rate: each rule
 * fires on the next matching call, so every planned fault is reached, and retries wait only for two
 * backoffs per path. The first file download of the program member and custom object exports also
 * loses its connection.
 */
export const MARKETING_FAULTS: { injected: string; rules: FaultRuleInput[] } = {
  injected: `every marketing call (${Object.keys(MARKETING_PATHS).join(', ')}) fails until it met two of a 503 page, a 604 timeout, a connection reset and a 606 (in turn: 3×503, 4×604, 3 resets, 2×606); the first program member and custom object export file downloads reset`,
  rules: [
    { path: '/bulk/v1/program/members/export/*/file.json', reset: true, count: 1 },
    { path: '/bulk/v1/customobjects/*/export/*/file.json', reset: true, count: 1 },
    ...Object.values(MARKETING_PATHS).flatMap((path, i): FaultRuleInput[] =>
      [0, 1].map((k) => ({ path, ...MARKETING_FAULT_KINDS[(i + k) % MARKETING_FAULT_KINDS.length]!.rule, count: 1 })),
    ),
  ],
};

export const FAST_POLL = { initialMs: 200, maxMs: 1_000, queueFullMs: 500 };

export type BootstrapHandle = WorkflowHandle<typeof bootstrap>;

export interface BootstrapRun {
  /** The result when the workflow completed. */
  result?: BootstrapResult;
  /** Why it did not: failure message, or the timeout. */
  error?: string;
  ms: number;
}

export interface BootstrapWindow {
  since: string;
  /** Absent: the workflow's start time (what a sync loop continues from). */
  highWatermark?: string;
}

/** Starts the bootstrap of every LOADED_PHASES entity, after saving the mapping that loads the custom object type. */
export async function startBootstrap(s: Scenario, workflowId: string, heartbeatTimeout = '5 seconds', window: BootstrapWindow = { since: LOAD.since, highWatermark: LOAD.until }): Promise<BootstrapHandle> {
  await s.mapCustomObject();
  return s.host.client.workflow.start<typeof bootstrap>('bootstrap', {
    taskQueue: s.taskQueue,
    workflowId,
    args: [
      {
        since: window.since,
        ...(window.highWatermark ? { highWatermark: window.highWatermark } : {}),
        entities: PHASE_SETTINGS,
        maxWindowDays: LOAD.maxWindowDays,
        poll: FAST_POLL,
        ingestHeartbeatTimeout: heartbeatTimeout,
      },
    ],
  });
}

/** Waits for the bootstrap; past `timeoutMs` it is terminated and reported as not finished. */
export async function awaitBootstrap(handle: BootstrapHandle, timeoutMs: number, started = Date.now()): Promise<BootstrapRun> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([handle.result(), timeout]);
    if (outcome === 'timeout') {
      const progress = await handle.query<BootstrapResult['progress']>('progress').catch(() => undefined);
      await handle.terminate('reliability case timed out').catch(() => undefined);
      const leads = progress?.phases.leads;
      let where = leads ? `: ${leads.windowsDone}/${leads.windowsTotal} windows, ${leads.written} written, ${leads.failed} failed, active ${JSON.stringify(leads.active)}` : '';
      // The phases after the leads: which one held the load up.
      const behind = LOADED_PHASES.filter((e) => e !== 'leads' && progress?.phases[e] && progress.phases[e].state !== 'done').map((e) => `${e} ${progress!.phases[e]!.state}`);
      if (behind.length) where += `; phases not done: ${behind.join(', ')}`;
      return { error: `not finished within ${Math.round(timeoutMs / 1000)} s${where}`, ms: Date.now() - started };
    }
    return { result: outcome, ms: Date.now() - started };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message;
    return { error: `failed: ${cause}`, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

export async function runBootstrap(s: Scenario, workflowId: string, timeoutMs: number): Promise<BootstrapRun> {
  const started = Date.now();
  return awaitBootstrap(await startBootstrap(s, workflowId), timeoutMs, started);
}

/** Summary of a finished load for the outcome column. */
export function loadSummary(run: BootstrapRun): string {
  if (!run.result) return run.error ?? 'no result';
  const phases = run.result.progress.phases;
  const p = phases.leads;
  const others = LOADED_PHASES.filter((e) => e !== 'leads' && phases[e])
    .map((e) => `${e} ${phases[e]!.written}${phases[e]!.failed ? ` (${phases[e]!.failed} ledgered)` : ''}`)
    .join(', ');
  return `done in ${(run.ms / 1000).toFixed(1)} s: ${p?.windowsDone}/${p?.windowsTotal} windows, ${p?.written} written, ${p?.failed} ledgered${others ? `; rows written by the other phases: ${others}` : ''}`;
}
