import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SyncStatus } from './sync-types.js';

/*
 * The names are what an operator types in the Temporal UI (Signal / Query / Update buttons of
 * the `syncLoop` workflow), so they are short and documented in docs/sync-loop.md.
 */

/** Run a cycle now instead of waiting out the interval (kept until resumed when paused). */
export const syncNowSignal = defineSignal('syncNow');
/** Stop before the next step or cycle until `resume`; the reason shows in `status`. */
export const syncPauseSignal = defineSignal<[{ reason?: string }?]>('pause');
export const syncResumeSignal = defineSignal('resume');
/** End the loop after the cycle in flight (a paused cycle ends where it stands). */
export const syncStopSignal = defineSignal<[{ reason?: string }?]>('stop');
/** New wait between cycles; refused (validator) unless a whole number of seconds in range. */
export const syncSetIntervalUpdate = defineUpdate<SyncStatus, [{ intervalSeconds: number }]>('setInterval');
export const syncStatusQuery = defineQuery<SyncStatus>('status');
