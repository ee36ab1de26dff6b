import type { StepSummary } from '../src/sync/push/run-step.js';
/**
 * Plain data shared by the `syncLoop` workflow, its cycle activities and the CLI. No runtime
 * imports, so the workflow sandbox, the worker and the client can all load it.
 */

/** One step of the seed's "Recommended Synchronization Order" and the activity that does it. */
export interface CycleStepSpec {
  /** Position in the seed's list (1–14). */
  seed: number;
  activity: string;
  direction: 'toMarketo' | 'toCrm';
  /** What the step moves, as recorded in the cycle history. */
  entity: string;
  kind: 'upsert' | 'delete' | 'read';
}

/**
 * The seed's 14 steps. Steps 4–7 are the Marketo → CRM pull (activities/pull.ts), 14 the custom
 * objects push; a worker that does not register a step's activity yet reports it as unavailable
 * and the cycle goes on without it.
 */
export const CYCLE_STEPS: readonly CycleStepSpec[] = [
  { seed: 1, activity: 'pushSalesPersons', direction: 'toMarketo', entity: 'salesPerson', kind: 'upsert' },
  { seed: 2, activity: 'pushCompanies', direction: 'toMarketo', entity: 'company', kind: 'upsert' },
  { seed: 3, activity: 'pushLeads', direction: 'toMarketo', entity: 'lead', kind: 'upsert' },
  { seed: 4, activity: 'pullLeadsAndCompanies', direction: 'toCrm', entity: 'lead', kind: 'upsert' },
  { seed: 5, activity: 'pullMergesAndDeletes', direction: 'toCrm', entity: 'leadMerge', kind: 'read' },
  { seed: 6, activity: 'pullActivities', direction: 'toCrm', entity: 'activity', kind: 'upsert' },
  { seed: 7, activity: 'deleteLeadsInCrm', direction: 'toCrm', entity: 'lead', kind: 'delete' },
  { seed: 8, activity: 'pushOpportunities', direction: 'toMarketo', entity: 'opportunity', kind: 'upsert' },
  { seed: 9, activity: 'pushOpportunityRoles', direction: 'toMarketo', entity: 'opportunityRole', kind: 'upsert' },
  { seed: 10, activity: 'deleteOpportunityRoles', direction: 'toMarketo', entity: 'opportunityRole', kind: 'delete' },
  { seed: 11, activity: 'deleteOpportunities', direction: 'toMarketo', entity: 'opportunity', kind: 'delete' },
  { seed: 12, activity: 'deleteCompanies', direction: 'toMarketo', entity: 'company', kind: 'delete' },
  { seed: 13, activity: 'deleteSalesPersons', direction: 'toMarketo', entity: 'salesPerson', kind: 'delete' },
  { seed: 14, activity: 'pushCustomObjects', direction: 'toMarketo', entity: 'customObject', kind: 'upsert' },
];

/** What the workflow passes a Marketo → CRM step: the cycle's history id (conflicts are recorded under it). */
export interface StepInput {
  cycleId?: string;
}

/** What every step activity returns: the push's `StepSummary` (counts only), plus the pull's figures. */
export interface StepResult extends StepSummary {
  /** Pull steps: fields both sides changed, settled by the conflict rule (each ledgered as `pull-conflict`). */
  conflicts?: number;
  /** Pull steps: the sync's own writes seen coming back and left out. */
  echoes?: number;
  /** Pull steps: CRM leads converted to contacts. */
  converted?: number;
  /** Pull steps: the loop was stopped longer than Marketo keeps these activities; caught up another way. */
  retention?: 'changes-pruned' | 'deletes-pruned';
  /** Step 4's periodic company scan ran: CRM accounts whose Marketo company was read. */
  companiesScanned?: number;
}

/** A step's totals over the runs one cycle made of it (more than one run while `hasMore`). */
export interface StepFigures {
  seed: number;
  step: string;
  runs: number;
  read: number;
  written: number;
  skipped: number;
  calls: number;
  mode?: 'rest' | 'bulk' | 'none';
  disabled?: boolean;
  conflicts?: number;
  echoes?: number;
  converted?: number;
  retention?: 'changes-pruned' | 'deletes-pruned';
  companiesScanned?: number;
  /** Records Marketo refused for a field it no longer has (1006): the next cycle describes again. */
  schemaDrift?: number;
}

export interface CycleFigures {
  /** Cycle number since the loop was first started (carried over continue-as-new). */
  number: number;
  /** Row id in the store's cycle history. */
  historyId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed';
  /** Marketo calls the steps and the schema refresh reported. */
  apiCalls: number;
  schemaRefreshed: boolean;
  steps: StepFigures[];
  /** Fields both sides changed, settled by the conflict rule; listed by `store.cycles.conflicts(historyId)` / `sync conflicts`. */
  conflicts?: number;
  error?: string;
}

export interface QuotaFigures {
  /** Chicago calendar day the counter belongs to. */
  day: string;
  /** Calls this deployment's Marketo client counted today (all workflows, not only the loop). */
  callsToday: number;
  dailyLimit: number;
  remainingToday: number;
  /** When Marketo's day turns over (00:00 America/Chicago). */
  resetAt: string;
  /** Milliseconds from the reading to `resetAt` on the worker's clock (the budget plans with this, not with workflow time). */
  msToReset: number;
}

export type SyncState = 'starting' | 'running' | 'sleeping' | 'paused' | 'quota-paused' | 'stopped';

export interface SyncStatus {
  state: SyncState;
  /** The step running now (state `running` or `quota-paused`). */
  step?: { seed: number; activity: string; run: number };
  /** Cycles started since the loop was first started. */
  cycles: number;
  intervalSeconds: number;
  /** The wait actually used after the last cycle: the interval, stretched by the daily budget. */
  effectiveIntervalSeconds: number;
  dailyCallBudget?: number;
  /** Why the wait is longer than the interval (daily budget). */
  intervalReason?: string;
  nextRunAt?: string;
  /** Operator's pause, with the reason given to `pause`. */
  pauseReason?: string;
  /** Marketo's daily quota is spent: the loop waits until `resetAt`. */
  quotaPause?: { resetAt: string; reason: string };
  lastCycle?: CycleFigures;
  /** The last failed cycle, kept while later cycles succeed so an operator still sees it. */
  lastFailure?: { number: number; at: string; error: string };
  /** Watermark streams (`marketo:leads`, `crm:push:lead`, ...) → newest change time covered. */
  watermarks: Record<string, string | null>;
  quota?: QuotaFigures;
  schema: { fingerprint?: string; refreshedAtCycle?: number; mappingWarnings: string[]; mappingErrors: string[] };
  /** Steps of the seed's order this worker has no activity for (skipped every cycle). */
  unavailableSteps: string[];
  /** Where the Marketo → CRM streams started (bootstrap watermark or the configured date). */
  startedFrom?: Record<string, string>;
  /** Workflow run number since the first start (continue-as-new increments it). */
  run: number;
}

export interface SyncLoopOptions {
  /** Wait after a cycle ends before the next starts (default 300 = 5 minutes). */
  intervalSeconds?: number;
  /**
   * Calls a day the deployment should stay under: the wait stretches so that today's calls so
   * far plus the projected cycles until Marketo's reset fit. None: no stretching.
   */
  dailyCallBudget?: number;
  /** Describe every N cycles (and once at the first); the cached schema serves the others. Default 12. */
  schemaRefreshEveryCycles?: number;
  /** Cycles per workflow run before continue-as-new (default 100; sooner when Temporal suggests it). */
  cyclesPerRun?: number;
  /** Runs of one step per cycle while it answers `hasMore`, before the cycle moves on (default 1,000). */
  maxStepRuns?: number;
  /** End after this many cycles in all (a demo, a test, a catch-up run); none: run until stopped. */
  maxCycles?: number;
}

export interface SyncLoopInput extends SyncLoopOptions {
  /**
   * Where the Marketo → CRM streams start when the bootstrap recorded no watermark for them
   * (ISO date-time). A stream with a watermark keeps it: the bootstrap's wins.
   */
  since?: string;
  /** Carried over continue-as-new; absent at the first start. */
  carried?: SyncCarriedState;
}

/** What a run hands the next across continue-as-new. */
export interface SyncCarriedState {
  cycles: number;
  run: number;
  paused: boolean;
  pauseReason?: string;
  syncNowPending: boolean;
  /** When the last cycle ended (epoch ms): the next run is counted from it. */
  lastCycleEndMs?: number;
  lastCycle?: CycleFigures;
  lastFailure?: SyncStatus['lastFailure'];
  schemaFingerprint?: string;
  schemaRefreshedAtCycle?: number;
  /** A step met a field Marketo no longer has since the last Describe: the next cycle describes again. */
  schemaDriftSeen?: boolean;
  mappingWarnings: string[];
  mappingErrors: string[];
  /** API calls of the recent cycles, newest last (the daily budget projects from their mean). */
  recentCycleCalls: number[];
  startedFrom?: Record<string, string>;
}

/** What `prepareSyncLoop` tells the workflow before its first cycle. */
export interface SyncPreparation {
  /** Stream → ISO start (its watermark, or `since` where there was none). */
  startedFrom: Record<string, string>;
  /** Activities of CYCLE_STEPS the worker registered. */
  availableSteps: string[];
}

/** What `finishCycle` returns: where things stand after the cycle's writes. */
export interface CycleClose {
  watermarks: Record<string, string | null>;
  quota: QuotaFigures;
}

export interface MappingCheck {
  /** A saved mapping whose fields vanished from the schema was saved again with them switched off. */
  savedVersion?: number;
  /** Push ledger entries Marketo refused for an unknown field (1006), set to be pushed again. */
  retried?: number;
  warnings: string[];
  errors: string[];
}

export interface SyncLoopResult {
  cycles: number;
  lastCycle?: CycleFigures;
}

export const DEFAULT_INTERVAL_SECONDS = 300;
export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 86_400;
