/**
 * The CRM → Marketo push of the sync cycle (seed steps 1–3 and 8–14), as plain library steps.
 * Each step reads its CRM change stream from its watermark, writes to Marketo, ledgers what
 * Marketo or the mapping refuses, and moves the watermark last. docs/sync-push.md explains it.
 */
export {
  pushSalesPersons,
  pushCompanies,
  pushLeads,
  pushOpportunities,
  pushOpportunityRoles,
  deleteOpportunityRoles,
  deleteOpportunities,
  deleteCompanies,
  deleteSalesPersons,
  type PushDeps,
  type StepSummary,
} from './steps.js';
export { pushCustomObjects } from './custom-objects.js';
export { PushOptions, parsePushOptions, type PushOptionsInput } from './options.js';
export { upsertStream, deleteStream, PUSH_OPERATION, PUSH_DELETE_OPERATION } from './streams.js';
