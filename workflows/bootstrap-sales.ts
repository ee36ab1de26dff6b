import { proxyActivities } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import type { PhaseContext } from './bootstrap-phase.js';
import type { BootstrapEntity } from './bootstrap-types.js';
import type { PhaseSpec } from './bootstrap.js';

const acts = proxyActivities<BootstrapActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** ≤31-day createdAt windows (or the entity's own scaled-down length) from the phase's low watermark to the high one. */
export function planWindows(ctx: PhaseContext) {
  return acts.planExportWindows({ startAt: ctx.since, endAt: ctx.highWatermark, ...(ctx.setting.maxWindowDays ? { maxDays: ctx.setting.maxWindowDays } : {}) });
}

/** Leads: Bulk Lead Extract by createdAt windows (docs/bootstrap.md explains the choice). */
async function leadsPhase(ctx: PhaseContext): Promise<void> {
  await ctx.runWindows({ kind: 'leads' }, 'leads', await planWindows(ctx));
}

const phase = (entity: BootstrapEntity, after: BootstrapEntity[], run: PhaseSpec['run']): PhaseSpec => ({ entity, after, run });

/** The lead database phases, in the seed's order. */
export const SALES_PHASES: PhaseSpec[] = [phase('leads', [], leadsPhase)];
