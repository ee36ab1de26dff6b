/** Every workflow the worker registers. The worker bundles this file for Temporal's sandbox. */
export { schemaRefresh, schemaRefreshStatus } from './schema-refresh.js';
export { bulkExport } from './bulk-export.js';
export { bootstrap } from './bootstrap.js';
export { bootstrapProgressQuery, pauseSignal, resumeSignal, cancelSignal, windowUpdateSignal, bulkExportStateQuery } from './bootstrap-signals.js';
export { onDemandSync, onDemandStatusQuery, syncRequestedSignal } from './on-demand-sync.js';
export { syncLoop } from './sync-loop.js';
export { syncNowSignal, syncPauseSignal, syncResumeSignal, syncStopSignal, syncSetIntervalUpdate, syncStatusQuery } from './sync-signals.js';
