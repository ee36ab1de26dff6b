/** Every workflow the worker registers. The worker bundles this file for Temporal's sandbox. */
export { schemaRefresh, schemaRefreshStatus } from './schema-refresh.js';
