/** Record-by-record comparison of Marketo and the CRM (the check behind `marketo-sync reconcile`). */
export { reconcileLeads, type ReconcileLeadsOptions } from './leads.js';
export { PersonReconciler, type ReconcileReport, type Mismatch } from './persons.js';
export { buildPersonMapping, loadPersonMapping, readMarketoSchemas, type PersonMapping, type PersonType, type MappedPerson } from './person-mapping.js';
export { sameValue } from './compare.js';
