import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BootstrapProgress, WindowState, WindowUpdate } from './bootstrap-types.js';

/** A child export tells its parent where its job stands (what the parent schedules on). */
export const windowUpdateSignal = defineSignal<[WindowUpdate]>('windowUpdate');
export const bulkExportStateQuery = defineQuery<WindowState>('state');

export const bootstrapProgressQuery = defineQuery<BootstrapProgress>('progress');
/** Stop starting new windows; windows already at Marketo run on. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Start nothing new, let windows in flight finish, record no watermark, end `cancelled`. */
export const cancelSignal = defineSignal('cancel');
