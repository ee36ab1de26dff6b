import { z } from 'zod';
import type { CrmConnector } from '../crm/connector.js';
import type { MarketoClient } from '../marketo/index.js';
import { chunks } from './fetch.js';
import { scanLeads } from './lead-scan.js';

export const LeadIdSetOptions = z.strictObject({
  /** Marketo leads created in [since, until] are listed by bulk export (ids only). */
  since: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
  maxWindowDays: z.number().int().min(1).max(31).optional(),
  pollIntervalMs: z.number().int().min(1).optional(),
  /** CRM field holding the Marketo lead id (the mapping's `leadKey.crmMarketoIdField`). */
  crmMarketoIdField: z.string().min(1).default('marketo_lead_id'),
});
export type LeadIdSetOptions = z.input<typeof LeadIdSetOptions>;

/** Complete id lists (not samples): callers act on them (delete what Marketo no longer has, load what the CRM lacks). */
export interface LeadIdSetReport {
  marketo: number;
  crm: number;
  /** Marketo lead ids no CRM lead or contact carries. */
  missingInCrm: number[];
  /** Marketo lead ids CRM persons carry that Marketo no longer has (deleted or merged away). */
  missingInMarketo: number[];
  /** Marketo lead ids held by more than one CRM person (a lead and a contact). */
  duplicates: number[];
  apiCalls: number;
  ok: boolean;
}

/**
 * Cheap presence check of every lead: all Marketo lead ids against the ids the CRM's leads and
 * contacts carry, without comparing fields. Marketo's ids come from bulk lead exports of the one
 * `id` column (per window: create, enqueue, status polls, one download); CRM ids outside the
 * window are confirmed by Get Leads by id, 300 a call. The pull runs it instead of trusting the
 * activity log once Marketo's activity retention (Delete Lead ~14 days) has been exceeded.
 */
export async function reconcileLeadIds(
  deps: { marketo: MarketoClient; crm: Pick<CrmConnector, 'readChanges'>; progress?: (line: string) => void },
  options: LeadIdSetOptions,
): Promise<LeadIdSetReport> {
  const parsed = LeadIdSetOptions.safeParse(options);
  if (!parsed.success) throw new Error(`invalid lead id-set options: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const calls = () => Object.values(deps.marketo.usage().perEndpoint).reduce((n, c) => n + c, 0);
  const started = calls();

  const crmIds = new Set<number>();
  const duplicates: number[] = [];
  for (const type of ['lead', 'contact'] as const) {
    let cursor: string | undefined;
    for (;;) {
      const page = await deps.crm.readChanges(type, { includeOwnWrites: true, snapshot: true, limit: 10_000, ...(cursor ? { cursor } : {}) });
      for (const change of page.changes) {
        if (change.kind !== 'upsert') continue;
        const raw = change.record[o.crmMarketoIdField];
        if (raw === null || raw === undefined || raw === '') continue;
        const id = Number(raw);
        if (crmIds.has(id)) duplicates.push(id);
        crmIds.add(id);
      }
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
  }

  const scan = await scanLeads(deps.marketo, ['id'], { since: o.since, until: o.until, maxWindowDays: o.maxWindowDays, pollIntervalMs: o.pollIntervalMs, progress: deps.progress });
  const marketoIds = scan.leadIds;
  const outside = [...crmIds].filter((id) => !marketoIds.has(id) && Number.isSafeInteger(id) && id > 0);
  for (const batch of chunks(outside)) {
    for await (const page of deps.marketo.leads.iterateByFilter({ filterType: 'id', filterValues: batch, fields: ['id'] })) for (const lead of page.items) marketoIds.add(lead.id);
  }
  const missingInCrm = [...marketoIds].filter((id) => !crmIds.has(id)).sort((a, b) => a - b);
  const missingInMarketo = [...crmIds].filter((id) => !marketoIds.has(id)).sort((a, b) => a - b);
  return {
    marketo: marketoIds.size,
    crm: crmIds.size + duplicates.length,
    missingInCrm,
    missingInMarketo,
    duplicates: duplicates.sort((a, b) => a - b),
    apiCalls: calls() - started,
    ok: missingInCrm.length + missingInMarketo.length + duplicates.length === 0,
  };
}
