/**
 * Plain data shared by the bootstrap workflows, their activities and the CLI. No runtime imports,
 * so the workflow sandbox, the worker and the client can all load it.
 */

/**
 * What one bulk export reads: the lead table or activities of some types by createdAt windows,
 * program members of some programs, or the records of one custom object.
 */
export type ExportSource =
  | {
      kind: 'leads';
      /**
       * Records the lead ingest loads before writing a batch's persons, so they are written with
       * their account and owner (the leads phase names the enabled companies / salesPersons phases).
       */
      preload?: PreloadKind[];
    }
  | { kind: 'activities'; activityTypeIds: number[] }
  | { kind: 'programMembers'; programIds: number[] }
  | { kind: 'customObjects'; apiName: string };

/**
 * Where the rows of an export go: the name of a sink registered with the ingest activity
 * (`activities/ingest-sink.ts`), e.g. `leads`.
 */
export type IngestSink = string;

import type { JobEstimate } from './export-poll-schedule.js';

/** A bulk createdAt filter: both ends inclusive, ISO-8601 UTC without millis. */
export interface ExportWindow {
  startAt: string;
  endAt: string;
}

export interface QuotaWait {
  resetAt: string;
  reason: string;
}

/** Where one window's export stands, as the child reports it to the parent. */
export type WindowState =
  | 'pending'
  | 'creating'
  | 'queue-full'
  | 'quota-paused'
  | 'queued'
  | 'processing'
  | 'downloading'
  | 'done'
  | 'failed';

/** States in which the window's job occupies Marketo's export queue (or is about to). */
export const AT_MARKETO: ReadonlySet<WindowState> = new Set(['creating', 'queue-full', 'quota-paused', 'queued', 'processing']);

export interface WindowUpdate {
  phase: string;
  index: number;
  state: WindowState;
  quotaWait?: QuotaWait;
  /** Set when the window starts a new job because Marketo forgot the last one: why. */
  expired?: string;
  /** With `downloading` (runs with `bulk-export-poll-estimate`): Marketo's processing time of the job, for the parent's next estimates. */
  processingMs?: number;
}

export interface PollSettings {
  /** First status poll after enqueue; Marketo refreshes status at most once a minute. */
  initialMs: number;
  /** Backoff cap between polls (Marketo recommends 5 minutes). */
  maxMs: number;
  /** Wait before enqueueing again after 1029 "Too many jobs in queue". */
  queueFullMs: number;
  /**
   * How long a window first waits for its job inside one activity, polling on the schedule above
   * (runs with the `bulk-export-fused-steps` marker), before going on with durable timers. 0 (the
   * default): durable timers only. Worth it when polls are seconds apart (a fast Marketo, the
   * bench): each timer poll costs a timer, two workflow tasks and an activity, the in-activity
   * poll one status call. At Marketo's 60 s refresh those hops are noise next to the poll interval.
   */
  inActivityMs?: number;
}

export const DEFAULT_POLL: PollSettings = { initialMs: 60_000, maxMs: 300_000, queueFullMs: 60_000 };

export interface BulkExportInput {
  /** Workflow id of the parent to report window states to (none when run on its own). */
  parentId?: string;
  phase: string;
  index: number;
  source: ExportSource;
  sink: IngestSink;
  /** Groups what an ingest records (seen company/salesperson keys) by bootstrap run. */
  runId: string;
  window: ExportWindow;
  poll: PollSettings;
  /** Whole-export attempts when Marketo ends the job Failed. */
  maxJobAttempts?: number;
  /** New jobs for a window whose job or file Marketo forgot while it waited (retention: job 30 days, file 7). Default 5. */
  maxExpiredJobs?: number;
  /**
   * When the parent expects the job to be Completed (runs with `bootstrap-export-estimates`, once
   * a job of the phase has completed): status polls go by it instead of the fixed schedule.
   */
  estimate?: JobEstimate;
}

/** One load of records by key: read from Marketo, written to the CRM, refused, and the calls it took. */
export interface LoadCounts {
  records: number;
  written: number;
  failed: number;
  apiCalls: number;
}

/** The phase that counts what the lead ingest loads of each kind before writing a batch's persons. */
export const PRELOAD_PHASE = { company: 'companies', salesPerson: 'salesPersons' } as const;
export type PreloadKind = keyof typeof PRELOAD_PHASE;

/** Records an ingest loaded for another phase (the lead ingest's companies and salespersons), per kind. */
export type LoadedAlongside = Partial<Record<PreloadKind, LoadCounts>>;

/** What the ingest activity returns: counts only, never records. */
export interface IngestSummary {
  /** Data records read from the file, malformed ones included. */
  rows: number;
  /**
   * Lines that could not be read as records, each one in the error ledger. A lead line whose id is
   * readable is fetched again by id and written (its entry resolved); only the entries left open
   * count in `failed`.
   */
  malformed?: number;
  bytes: number;
  written: number;
  failed: number;
  apiCalls: number;
  /** What the sink loaded for other phases (counted there, not in `written` or `apiCalls`). */
  loaded?: LoadedAlongside;
  /** Byte offset the last attempt resumed from (0: it read the file from the start). */
  resumedFrom: number;
  /** Wall time of the last attempt (download + CRM writes). */
  ingestMs?: number;
  /** Epoch ms the last attempt started and ended (for the benchmark's timeline). */
  startedAt?: number;
  finishedAt?: number;
  /** Time of the last attempt spent in batch writes (they overlap the download of the next batch). */
  writeMs?: number;
}

export interface BulkExportResult extends IngestSummary {
  phase: string;
  index: number;
  window: ExportWindow;
  exportId: string;
  jobAttempts: number;
  /** Jobs Marketo forgot while the window waited, each replaced by a new one. */
  expiredJobs?: number;
  /** Marketo's processing time of the ingested job (startedAt → finishedAt, whole seconds): the parent's estimates go by it. */
  processingMs?: number;
}

export interface PhaseProgress {
  enabled: boolean;
  state: 'pending' | 'running' | 'done' | 'skipped' | 'cancelled';
  windowsTotal: number;
  windowsDone: number;
  records: number;
  bytes: number;
  written: number;
  failed: number;
  apiCalls: number;
  /** Jobs recreated because Marketo forgot them while their window waited (job or file past retention). */
  expiredExports?: number;
  /** Window index → state, only for windows started and not yet done. */
  active: Record<string, WindowState>;
}

export interface BootstrapProgress {
  state: 'running' | 'paused' | 'cancelling' | 'cancelled' | 'done';
  highWatermark: string;
  phases: Record<string, PhaseProgress>;
  quotaWait?: QuotaWait;
}

export interface EntitySetting {
  enabled: boolean;
  /** The entity's own low watermark (ISO); default: the bootstrap's `since`. */
  since?: string;
  /** `activities` only: the activity type ids to load (default: the marketing phase decides). */
  activityTypeIds?: number[];
  /** `customObjects` only: the custom object API names to load (default: every one). */
  apiNames?: string[];
  /** Export window length in days for this entity; default the bootstrap's `maxWindowDays` (31). */
  maxWindowDays?: number;
  /**
   * `programs` only: after a group's member export, re-read each program's members by REST (one
   * call per 300 members) and remove CRM members Marketo no longer lists. Off by default: a first
   * bootstrap into an empty CRM has nothing to prune, and the reads cost daily calls.
   */
  pruneMembers?: boolean;
}

/**
 * Every entity type the bootstrap can load, in the seed's "Recommended Bootstrapping Order".
 * `opportunities` covers the Add to Opportunity activity export and Get Opportunities;
 * `opportunityRoles` needs it (roles are found through those activities).
 */
export const BOOTSTRAP_ENTITIES = [
  'leads',
  'companies',
  'opportunities',
  'opportunityRoles',
  'salesPersons',
  'customObjects',
  'programs',
  'staticLists',
  'activities',
] as const;
export type BootstrapEntity = (typeof BOOTSTRAP_ENTITIES)[number];

export interface BootstrapInput {
  /** Low watermark for entities without their own. */
  since: string;
  /** Fixed at start when absent (the workflow's start time), then handed to the sync loop. */
  highWatermark?: string;
  /** Entities absent here are not loaded (recorded histories of older runs name only `leads`). */
  entities: Partial<Record<BootstrapEntity, EntitySetting>>;
  /** Window length; 31 (Marketo's maximum) unless a test scales it down. */
  maxWindowDays?: number;
  poll?: Partial<PollSettings>;
  /** Exports kept at Marketo at once: 2 processing + 3 queued (runs started before: 3). */
  jobsAtMarketo?: number;
  /** Child workflows alive at once (jobs at Marketo plus downloads in progress): jobsAtMarketo + 5 (before: + 3). */
  maxChildren?: number;
  /** How soon a download on a dead worker is retried elsewhere (default 30 seconds). */
  ingestHeartbeatTimeout?: string;
  /**
   * Status polls at each job's expected end (from its phase's completed jobs and the jobs ahead of
   * it at Marketo), then on the `poll` schedule; false: the `poll` schedule alone. Default true.
   */
  pollByEstimate?: boolean;
}

export interface BootstrapResult {
  highWatermark: string;
  progress: BootstrapProgress;
}
