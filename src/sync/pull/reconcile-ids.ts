import type { CrmConnector } from '../../crm/connector.js';
import type { MarketoClient } from '../../marketo/index.js';

/**
 * The id-set check that replaces Get Deleted Leads when Marketo may have pruned its Delete Lead
 * activities: every Marketo lead id the CRM holds is asked for by id (300 a call); the ones
 * Marketo no longer has were deleted (or merged away) while the loop was stopped.
 */
export async function idSetDeletes(
  deps: { marketo: Pick<MarketoClient, 'leads'>; crm: Pick<CrmConnector, 'readChanges'> },
  batchSize: number,
  keyField = 'marketo_lead_id',
): Promise<{ missing: string[]; checked: number; calls: number }> {
  const held = new Set<string>();
  for (const type of ['lead', 'contact'] as const) {
    let cursor: string | undefined;
    for (;;) {
      const page = await deps.crm.readChanges(type, { since: new Date(0), includeOwnWrites: true, snapshot: true, limit: 10_000, ...(cursor ? { cursor } : {}) });
      for (const c of page.changes) {
        if (c.kind !== 'upsert') continue;
        const v = c.record[keyField];
        if (v !== null && v !== undefined && v !== '') held.add(String(v));
      }
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
  }
  const ids = [...held];
  const missing: string[] = [];
  let calls = 0;
  for (let i = 0; i < ids.length; i += batchSize) {
    const batch = ids.slice(i, i + batchSize);
    calls++;
    const page = await deps.marketo.leads.getByFilter({ filterType: 'id', filterValues: batch.map(Number), fields: ['id'], batchSize });
    const found = new Set(page.items.map((l) => String(l.id)));
    for (const id of batch) if (!found.has(id)) missing.push(id);
  }
  return { missing, checked: ids.length, calls };
}
