/** Record-by-record comparison of Marketo and the CRM (the check behind `marketo-sync reconcile`). */
export { reconcile, ReconcileOptions, ReconcileEntity, RECONCILE_ENTITIES, type ReconcileResult } from './reconcile.js';
export type { ReconcileDeps } from './context.js';
export type { EntityReport, FieldMismatch, Duplicate, Tally } from './report.js';
export { reconcileLeads, type ReconcileLeadsOptions } from './leads.js';
export { PersonReconciler, type ReconcileReport, type Mismatch } from './persons.js';
export { buildPersonMapping, loadPersonMapping, readMarketoSchemas, type PersonMapping, type PersonType, type MappedPerson } from './person-mapping.js';
export { sameValue } from './compare.js';
export { reconcileLeadIds, LeadIdSetOptions, type LeadIdSetReport } from './id-set.js';
