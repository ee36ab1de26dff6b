import type { WorkflowHarness } from '../workflows/support.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import type { MarketoClient } from '../../src/marketo/index.js';
import { loadPersonMapping, reconcileLeads, type ReconcileReport } from '../../src/reconcile/index.js';

/** Test-speed poll settings: the emulator's jobs finish in well under a second. */
export const FAST_POLL = { initialMs: 200, maxMs: 1_000, queueFullMs: 500 };

/** Reconciles the emulator's leads created in [since, until] against the harness CRM. */
export async function reconcileHarness(h: WorkflowHarness, since: string, until: string): Promise<ReconcileReport> {
  const mapping = await loadPersonMapping(
    { marketo: h.marketo, crm: h.crm, currentMapping: async () => (await h.store.mappings.current())?.config },
    { csv: true },
  );
  return reconcileLeads({ marketo: h.marketo, crm: h.crm, mapping, since, until, pollIntervalMs: 100 });
}

/** Lead counts in the CRM by type, straight from its tables. */
export async function crmPersonCounts(h: WorkflowHarness): Promise<{ leads: number; contacts: number; distinctMarketoIds: number }> {
  const { rows } = await h.crm.pool.query<{ leads: string; contacts: string; distinct_ids: string }>(
    `SELECT (SELECT count(*) FROM crm.leads) AS leads, (SELECT count(*) FROM crm.contacts) AS contacts,
            (SELECT count(DISTINCT id) FROM (SELECT marketo_lead_id AS id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) x) AS distinct_ids`,
  );
  const r = rows[0]!;
  return { leads: Number(r.leads), contacts: Number(r.contacts), distinctMarketoIds: Number(r.distinct_ids) };
}

/** Leads as a CSV export gives them (every value text, null for empty), in id order, read by REST. */
export async function exportShapedRows(marketo: MarketoClient, ids: readonly number[], fields: readonly string[]): Promise<RecordRow[]> {
  const rows: RecordRow[] = [];
  const sorted = [...ids].sort((a, b) => a - b);
  for await (const page of marketo.leads.iterateByFilter({ filterType: 'id', filterValues: sorted.map(String), fields: [...fields] })) {
    for (const item of page.items) rows.push(Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v)])));
  }
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

