import { writePersons } from '../../../activities/person-writer.js';
import { CrmError, type CrmConnector, type CrmRecord } from '../../crm/connector.js';
import { routeLead, type MarketoRecord } from '../../mapping/apply.js';
import type { RecordFailure } from '../../store/error-ledger.js';
import type { StateStore } from '../../store/state-store.js';
import type { PullContext } from './context.js';
import { textOrNull } from '../../marketo/values.js';

export interface PersonPullDeps {
  crm: Pick<CrmConnector, 'upsert' | 'getRecords' | 'convertLead'>;
  store: Pick<StateStore, 'errors' | 'idMap'>;
}

export interface PersonPullResult {
  written: number;
  unchanged: number;
  failed: number;
  converted: number;
  /** CRM person of each Marketo lead written or found unchanged. */
  persons: Map<string, { type: 'lead' | 'contact'; crmId: string }>;
}

/**
 * The push links the Marketo leads it creates in the id map but leaves the CRM's Marketo id
 * column empty; the pull fills it for linked records it sees, so the person writer (keyed on the
 * column) and a later conversion (which carries the column to the contact) find the record.
 */
export async function backfillMarketoIds(
  deps: Pick<PersonPullDeps, 'crm'>,
  keyField: string,
  type: 'lead' | 'contact',
  items: readonly { crmId: string; marketoId: string }[],
  operation: string,
  failures: RecordFailure[],
): Promise<number> {
  if (items.length === 0) return 0;
  const current = new Map((await deps.crm.getRecords(type, items.map((b) => b.crmId))).map((r) => [String(r.id), r]));
  const missing = items.filter((b) => current.has(b.crmId) && textOrNull(current.get(b.crmId)![keyField]) !== b.marketoId);
  if (missing.length === 0) return 0;
  const results = await deps.crm.upsert(type, missing.map((b) => ({ id: b.crmId, [keyField]: Number(b.marketoId) })), { keyField: 'id', updateOnly: true });
  for (const r of results) {
    if (r.status === 'failed') failures.push({ entity: type, recordKey: missing[r.index]!.marketoId, operation, source: 'crm', code: r.code, reason: r.reason });
  }
  return missing.length;
}

/** A copy of the lead that the mapping's routing sends to `type` (the id map knows better than the routing). */
function routedAs(context: PullContext, lead: MarketoRecord, type: 'lead' | 'contact'): MarketoRecord {
  const routing = context.config.leadRouting;
  if (routing.by === 'field') return { ...lead, [routing.marketoField]: routing.values[type] };
  // References are not written by the person mapping: the placeholder only steers the routing.
  return { ...lead, externalCompanyId: type === 'contact' ? String(lead.externalCompanyId ?? '') || 'linked' : null };
}


/**
 * Writes Marketo leads to the CRM through the shared person writer (`writePersons`, keyed on the
 * Marketo lead id column). Before that:
 * - CRM records the id map links to a lead but whose Marketo id column is empty (the push links
 *   records it created without writing the column) get the column, so the writer finds them
 *   instead of creating a second record;
 * - a lead the id map links to a CRM lead that Marketo now routes to a contact (it gained a
 *   company) is converted in the CRM first (seed, Lead Conversion), under the company's account.
 * After it, contacts are linked to the account of their externalCompanyId.
 */
export async function writePulledPersons(deps: PersonPullDeps, context: PullContext, leads: readonly MarketoRecord[], accounts: ReadonlyMap<string, string>, operation: string): Promise<PersonPullResult> {
  const failures: RecordFailure[] = [];
  const links = await deps.store.idMap.byMarketoIds('lead', leads.map((l) => String(l.id)));
  const keyField = context.config.leadKey.crmMarketoIdField;
  const backfill: Record<'lead' | 'contact', { crmId: string; marketoId: string }[]> = { lead: [], contact: [] };
  const conversions: { marketoId: string; leadId: string; accountId?: string }[] = [];
  const rows = leads.map((lead) => {
    const marketoId = String(lead.id);
    const link = links.get(marketoId);
    if (!link || (link.crmType !== 'lead' && link.crmType !== 'contact')) return lead;
    const type = routeLead(context.config, lead);
    if (link.crmType === 'lead' && type === 'contact') {
      const accountId = accounts.get(textOrNull(lead.externalCompanyId) ?? '');
      conversions.push({ marketoId, leadId: link.crmId, ...(accountId ? { accountId } : {}) });
      return lead;
    }
    backfill[link.crmType].push({ crmId: link.crmId, marketoId });
    // A CRM contact without an account is a lead by Marketo's routing: it stays the contact it is.
    return link.crmType === type ? lead : routedAs(context, lead, link.crmType);
  });

  for (const type of ['lead', 'contact'] as const) await backfillMarketoIds(deps, keyField, type, backfill[type], operation, failures);

  let converted = 0;
  for (const c of conversions) {
    try {
      await deps.crm.convertLead({ leadId: c.leadId, ...(c.accountId ? { accountId: c.accountId } : {}) });
      converted++;
    } catch (err) {
      // Already converted (the push's own conversion coming back) is what we wanted.
      if (err instanceof CrmError && err.code === 'ALREADY_CONVERTED') continue;
      if (!(err instanceof CrmError)) throw err;
      failures.push({ entity: 'lead', recordKey: c.marketoId, operation, source: 'crm', code: err.code, reason: `conversion: ${err.message}` });
    }
  }

  const outcome = await writePersons(deps, context.person, rows, { operation, skipUnchanged: true });
  const persons = new Map<string, { type: 'lead' | 'contact'; crmId: string }>();
  for (const r of outcome.results) if (r.crmId !== undefined) persons.set(r.marketoId, { type: r.type, crmId: r.crmId });

  // The person mapping leaves references out: a contact's account follows its externalCompanyId here.
  const wantAccount = new Map<string, string>();
  for (const lead of leads) {
    const p = persons.get(String(lead.id));
    const accountId = accounts.get(textOrNull(lead.externalCompanyId) ?? '');
    if (p?.type === 'contact' && accountId) wantAccount.set(p.crmId, accountId);
  }
  if (wantAccount.size > 0) {
    const current = await deps.crm.getRecords('contact', [...wantAccount.keys()]);
    const change: CrmRecord[] = current.filter((r) => textOrNull(r.account_id) !== wantAccount.get(String(r.id))).map((r) => ({ id: String(r.id), account_id: wantAccount.get(String(r.id))! }));
    if (change.length > 0) {
      for (const r of await deps.crm.upsert('contact', change, { keyField: 'id', updateOnly: true })) {
        if (r.status === 'failed') failures.push({ entity: 'contact', recordKey: String(change[r.index]!.id), operation, source: 'crm', code: r.code, reason: `account link: ${r.reason}` });
      }
    }
  }
  await deps.store.errors.record(failures);
  return { written: outcome.written, unchanged: outcome.unchanged, failed: outcome.failed + failures.length, converted, persons };
}
