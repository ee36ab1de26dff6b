import type { Route } from '../http/route.js';

// Placeholder: the bulk engineer replaces this file with the /bulk/v1 routes.
export const bulkRoutes: Route[] = [];
