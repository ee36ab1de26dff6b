import type { CrmConnector } from '../src/crm/connector.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import * as push from '../src/sync/push/index.js';
import { marketoCall } from './failures.js';
import { withLiveness } from './liveness.js';

export interface PushActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** Batch sizes, run budget, REST/bulk threshold (see docs/sync-push.md); defaults otherwise. */
  pushOptions?: push.PushOptionsInput;
}

export type PushStepSummary = push.StepSummary;

/**
 * The CRM → Marketo steps of a sync cycle, one activity each, to be called in the seed's order:
 * pushSalesPersons, pushCompanies, pushLeads (steps 1–3), pushOpportunities, pushOpportunityRoles
 * (8–9), deleteOpportunityRoles, deleteOpportunities, deleteCompanies, deleteSalesPersons (10–13),
 * pushCustomObjects (14).
 * Each returns counts only; `hasMore` asks the workflow to call the same step again. Marketo
 * failures of a whole call become Temporal failures (failures.ts); the step's watermark has
 * not moved then, so a retry reads the same changes again.
 */
export function createPushActivities(deps: PushActivityDeps) {
  const options = push.parsePushOptions(deps.pushOptions ?? {});
  const d: push.PushDeps = { marketo: deps.marketo, store: deps.store, crm: deps.crm, options };
  const step = (run: (deps: push.PushDeps) => Promise<push.StepSummary>) => () => withLiveness(() => marketoCall(() => run(d)));
  return {
    pushSalesPersons: step(push.pushSalesPersons),
    pushCompanies: step(push.pushCompanies),
    pushLeads: step(push.pushLeads),
    pushOpportunities: step(push.pushOpportunities),
    pushOpportunityRoles: step(push.pushOpportunityRoles),
    deleteOpportunityRoles: step(push.deleteOpportunityRoles),
    deleteOpportunities: step(push.deleteOpportunities),
    deleteCompanies: step(push.deleteCompanies),
    deleteSalesPersons: step(push.deleteSalesPersons),
    pushCustomObjects: step(push.pushCustomObjects),
  };
}

export type PushActivities = ReturnType<typeof createPushActivities>;
