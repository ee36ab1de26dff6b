/**
 * The Marketo → CRM pull of the sync cycle (seed steps 4–7), as plain library steps. Each step
 * reads its Marketo activity stream from its watermark, writes to the CRM, ledgers what the
 * mapping or the CRM refuses, and moves the watermark last. docs/sync-pull.md explains it.
 */
export {
  pullLeadsAndCompanies,
  pullMergesAndDeletes,
  pullActivities,
  deleteLeadsInCrm,
  PULL_OPERATION,
  PULL_DELETE_OPERATION,
  PULL_ACTIVITY_OPERATION,
  CONFLICT_OPERATION,
  type PullDeps,
  type PullStepSummary,
} from './steps.js';
export { PullOptions, ActivityQueue, parsePullOptions, type PullOptionsInput } from './options.js';
export { LEADS_STREAM, DELETES_STREAM, PENDING_STREAM, activityQueueStream } from './position.js';
export { DELETED_FLAG_FIELD } from './deletes.js';
