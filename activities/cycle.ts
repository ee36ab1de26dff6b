import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { CrmConnector } from '../src/crm/connector.js';
import { reconcileWithSchemas } from '../src/mapping/refresh.js';
import { validateMapping } from '../src/mapping/validate.js';
import { quotaResetAt, type MarketoClient } from '../src/marketo/index.js';
import type { EntityCounts } from '../src/store/cycles.js';
import type { StateStore } from '../src/store/state-store.js';
import { MALFORMED_ATTEMPTS_STREAM } from '../src/sync/pull/malformed-attempts.js';
import { PENDING_STREAM } from '../src/sync/pull/position.js';
import { loadPushContext } from '../src/sync/push/context.js';
import { PUSH_OPERATION } from '../src/sync/push/streams.js';
import { UNKNOWN_FIELD_CODE } from '../src/sync/push/tally.js';
import { CYCLE_STEPS, type CycleClose, type MappingCheck, type StepFigures, type SyncPreparation } from '../workflows/sync-types.js';

export interface CycleActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** Names of every activity the worker registers: decides which of the seed's steps can run. */
  registeredActivities: () => readonly string[];
  /** The worker's present, which the daily budget's projection counts to Marketo's reset from (tests fix it). */
  now?: () => Date;
}

/** The Marketo → CRM streams the bootstrap hands over and the pull continues from. */
export const SYNC_START_STREAMS = ['marketo:leads'] as const;

/** Cycle-history kind of a sync-loop cycle (bootstraps record their own kind). */
export const SYNC_CYCLE_KIND = 'sync';

const PrepareInput = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  streams: z.array(z.string().min(1)).min(1).default([...SYNC_START_STREAMS]),
});

const StepFiguresSchema = z.object({
  seed: z.number().int().min(1).max(14),
  step: z.string().min(1),
  runs: z.number().int().nonnegative(),
  read: z.number().int().nonnegative(),
  written: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
  mode: z.enum(['rest', 'bulk', 'none']).optional(),
  disabled: z.boolean().optional(),
  conflicts: z.number().int().nonnegative().optional(),
  echoes: z.number().int().nonnegative().optional(),
  converted: z.number().int().nonnegative().optional(),
  retention: z.enum(['changes-pruned', 'deletes-pruned']).optional(),
  companiesScanned: z.number().int().nonnegative().optional(),
  schemaDrift: z.number().int().nonnegative().optional(),
});

const FinishInput = z.object({
  historyId: z.string().regex(/^\d+$/, 'historyId must be a cycle id from beginCycle'),
  outcome: z.enum(['succeeded', 'failed']),
  error: z.string().optional(),
  apiCalls: z.number().int().nonnegative(),
  steps: z.array(StepFiguresSchema),
});

/** A step's figures as cycle-history rows: written records count as created/updated or deleted, ledgered ones as failed. */
export function stepCounts(steps: readonly StepFigures[]): EntityCounts[] {
  const counts: EntityCounts[] = [];
  for (const s of steps) {
    const spec = CYCLE_STEPS.find((c) => c.seed === s.seed);
    if (!spec || (s.written === 0 && s.skipped === 0)) continue;
    counts.push({
      entity: spec.entity,
      direction: spec.direction,
      ...(spec.kind === 'delete' ? { deleted: s.written } : { updated: s.written }),
      failed: s.skipped,
    });
  }
  return counts;
}

/**
 * The sync loop's bookkeeping: where its streams start, which steps this worker can run, the
 * cycle history rows, the mapping check after a schema change, and where watermarks and the
 * daily quota stand after a cycle. None of them calls Marketo.
 */
export function createCycleActivities(deps: CycleActivityDeps) {
  return {
    /**
     * Before the first cycle: every start stream without a watermark starts at `since`; one that
     * has one (the bootstrap's high watermark) keeps it. Neither: the loop cannot know where
     * Marketo's changes begin, and says so instead of guessing.
     */
    async prepareSyncLoop(raw: { since?: string; streams?: string[] }): Promise<SyncPreparation> {
      const input = PrepareInput.parse(raw);
      const startedFrom: Record<string, string> = {};
      for (const stream of input.streams) {
        const current = await deps.store.watermarks.get(stream);
        if (current?.watermark) {
          startedFrom[stream] = current.watermark.toISOString();
          continue;
        }
        if (!input.since) {
          throw ApplicationFailure.create({
            type: 'SyncNotBootstrapped',
            nonRetryable: true,
            message: `no watermark for '${stream}': run the bootstrap first, or start the sync with a date to begin from (--since)`,
          });
        }
        await deps.store.watermarks.set(stream, { watermark: new Date(input.since) });
        startedFrom[stream] = new Date(input.since).toISOString();
      }
      const registered = new Set(deps.registeredActivities());
      return { startedFrom, availableSteps: CYCLE_STEPS.map((s) => s.activity).filter((a) => registered.has(a)) };
    },

    async beginCycle(): Promise<{ historyId: string }> {
      return { historyId: await deps.store.cycles.start(SYNC_CYCLE_KIND) };
    },

    /** Writes the cycle's figures to the history and reports watermarks and today's quota use. */
    async finishCycle(raw: z.input<typeof FinishInput>): Promise<CycleClose> {
      const input = FinishInput.parse(raw);
      // One transaction that only a running cycle takes: a retry after the commit adds nothing twice.
      await deps.store.cycles.finishWithCounts(input.historyId, stepCounts(input.steps), input.apiCalls, input.error === undefined ? { status: input.outcome } : { status: input.outcome, error: input.error });
      return { watermarks: await watermarkTimes(deps.store), quota: quotaFigures(deps.marketo, deps.now?.() ?? new Date()) };
    },

    /** Where watermarks and today's quota stand, without a cycle (the loop's first status). */
    async syncPosition(): Promise<CycleClose> {
      return { watermarks: await watermarkTimes(deps.store), quota: quotaFigures(deps.marketo, deps.now?.() ?? new Date()) };
    },

    /**
     * After Describe returned a different schema: fields or objects that disappeared are switched
     * off in the saved mapping (saved as a new version, warnings kept), and the result is
     * validated. Reads the schema cache the refresh just filled, so it makes no Marketo call.
     */
    async checkMappingAgainstSchema(): Promise<MappingCheck> {
      const { context } = await loadPushContext({ marketo: deps.marketo, store: deps.store, crm: deps.crm });
      const saved = await deps.store.mappings.current();
      const out: MappingCheck = { warnings: [], errors: [] };
      let config = context.config;
      if (saved) {
        const refreshed = reconcileWithSchemas(saved.config, context.schemas, context.describe);
        out.warnings.push(...refreshed.warnings);
        if (refreshed.changed) {
          config = refreshed.config;
          out.savedVersion = await deps.store.mappings.save(config, { author: 'sync-loop', comment: 'fields gone from the Marketo or CRM schema switched off', warnings: refreshed.warnings });
        }
      }
      const report = validateMapping(config, context.schemas, context.describe);
      out.warnings.push(...report.warnings);
      out.errors.push(...report.errors);
      out.retried = await retrySchemaRefusals(deps.store);
      return out;
    },
  };
}

/**
 * Records the push ledgered because Marketo did not know a mapped field (1006) were refused for
 * the mapping, not for their values: now that the mapping matches the new schema they are due
 * again (status `retrying`, which the push reads fresh from the CRM), so a field that vanished
 * between two Describes does not hold back the rest of those records' changes until an operator
 * notices. A record that still fails is ledgered open again.
 */
async function retrySchemaRefusals(store: StateStore): Promise<number> {
  const refused = (await store.errors.list({ status: 'open', limit: 100_000 })).filter((e) => e.operation === PUSH_OPERATION && e.code === UNKNOWN_FIELD_CODE);
  return refused.length === 0 ? 0 : store.errors.retry(refused.map((e) => e.id));
}

/** The pull's bookkeeping rows kept in the watermark table (pending merges and deletes, malformed-line keys): no position to show. */
const NOT_WATERMARKS = new Set<string>([PENDING_STREAM, MALFORMED_ATTEMPTS_STREAM]);

async function watermarkTimes(store: StateStore): Promise<Record<string, string | null>> {
  const rows = (await store.watermarks.list()).filter((w) => !NOT_WATERMARKS.has(w.stream));
  return Object.fromEntries(rows.map((w) => [w.stream, w.watermark ? w.watermark.toISOString() : null]));
}

/** From the client's own counter: free, where `GET /rest/v1/stats/usage.json` would cost a call and lag behind. */
function quotaFigures(marketo: MarketoClient, now: Date): CycleClose['quota'] {
  const usage = marketo.usage();
  const resetAt = quotaResetAt(now);
  return {
    day: usage.day,
    callsToday: usage.dailyCalls,
    dailyLimit: usage.dailyLimit,
    remainingToday: usage.remainingToday,
    resetAt: resetAt.toISOString(),
    msToReset: resetAt.getTime() - now.getTime(),
  };
}

export type CycleActivities = ReturnType<typeof createCycleActivities>;
