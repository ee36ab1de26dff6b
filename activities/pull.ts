import { z } from 'zod';
import type { CrmConnector } from '../src/crm/connector.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import * as pull from '../src/sync/pull/index.js';
import { marketoCall } from './failures.js';
import { withLiveness } from './liveness.js';

export interface PullActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** Policies, activity queues, REST/bulk threshold (see docs/sync-pull.md); defaults otherwise. */
  pullOptions?: pull.PullOptionsInput;
  /** Marketo's present; tests move it to cross the activity retention periods. */
  now?: () => Date;
}

export type PullStepSummary = pull.PullStepSummary;

/** What the workflow passes a step: the cycle it runs in (absent when a step runs on its own). */
export const PullStepInput = z.strictObject({ cycleId: z.string().regex(/^\d+$/, 'cycleId must be a cycle history id').optional() }).default({});
export type PullStepInput = z.input<typeof PullStepInput>;

/**
 * The Marketo → CRM steps of a sync cycle, one activity each, called between push steps 3 and 8
 * in the seed's order: pullLeadsAndCompanies (4), pullMergesAndDeletes (5), pullActivities (6),
 * deleteLeadsInCrm (7). Each takes the cycle's history id (settled conflicts are recorded under
 * it) and returns counts only; `hasMore` asks the workflow
 * to call the same step again. Marketo failures of a whole call become Temporal failures
 * (failures.ts) before the step's watermark moved, so a retry reads the same activities again.
 */
export function createPullActivities(deps: PullActivityDeps) {
  const options = pull.parsePullOptions(deps.pullOptions ?? {});
  const d: pull.PullDeps = { marketo: deps.marketo, store: deps.store, crm: deps.crm, options, ...(deps.now ? { now: deps.now } : {}) };
  const step = (run: (deps: pull.PullDeps) => Promise<pull.PullStepSummary>) => (raw?: PullStepInput) => {
    const { cycleId } = PullStepInput.parse(raw);
    return withLiveness(() => marketoCall(() => run(cycleId === undefined ? d : { ...d, cycleId })));
  };
  return {
    pullLeadsAndCompanies: step(pull.pullLeadsAndCompanies),
    pullMergesAndDeletes: step(pull.pullMergesAndDeletes),
    pullActivities: step(pull.pullActivities),
    deleteLeadsInCrm: step(pull.deleteLeadsInCrm),
  };
}

export type PullActivities = ReturnType<typeof createPullActivities>;
