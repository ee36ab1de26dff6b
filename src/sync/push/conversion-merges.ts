import type { CrmConnector } from '../../crm/connector.js';
import { isMarketoApiError, type MarketoClient } from '../../marketo/index.js';
import type { StateStore } from '../../store/state-store.js';
import type { PersonChange } from './person-writer.js';
import type { PushTally } from './tally.js';

export interface ConversionMergeDeps {
  marketo: MarketoClient;
  store: Pick<StateStore, 'idMap' | 'merges'>;
  crm: Pick<CrmConnector, 'getRecords'>;
}

/** Marketo's "Lead not found" on a merge: the loser (or the winner) is gone already. */
const LEAD_NOT_FOUND = '1004';

function positiveId(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Seed, "Converting a Lead into an Existing Contact Record": merge the lead's Marketo person into
 * the contact's. A CRM lead converted into a contact that already had a Marketo person of its own
 * leaves two persons in Marketo for one CRM person (the converted lead is not pushed any more,
 * the contact is written to its own person), so the push merges the lead's person (loser) into
 * the contact's (winner) with Merge Leads, one call per conversion (conversions are few; a
 * merge takes one winner). The merge map learns loser → winner, so late references to the loser
 * reach the winner, and the loser's link in the id map goes. A merge repeated after a retry finds
 * the loser gone (1004) and counts as done once Marketo confirms the winner is there; other
 * refusals are ledgered against the lead. Returns the calls made.
 */
export async function mergeConvertedLeads(deps: ConversionMergeDeps, changes: readonly PersonChange[], tally: PushTally, crmMarketoIdField: string): Promise<number> {
  const converted = changes.filter((c) => c.type === 'lead' && c.record.is_converted === true && typeof c.record.converted_contact_id === 'string' && c.record.converted_contact_id !== '');
  if (converted.length === 0) return 0;
  const leadIds = converted.map((c) => String(c.record.id));
  const contactIds = [...new Set(converted.map((c) => String(c.record.converted_contact_id)))];
  const leadLinks = await deps.store.idMap.byCrmIds('lead', 'lead', leadIds);
  const contactLinks = await deps.store.idMap.byCrmIds('lead', 'contact', contactIds);
  const unlinked = contactIds.filter((id) => positiveId(contactLinks.get(id)?.marketoId) === undefined);
  const contactRecords = unlinked.length === 0 ? [] : await deps.crm.getRecords('contact', unlinked);
  const contactPerson = new Map<string, number>();
  for (const id of contactIds) {
    const linked = positiveId(contactLinks.get(id)?.marketoId);
    if (linked !== undefined) contactPerson.set(id, linked);
  }
  for (const r of contactRecords) {
    const own = positiveId(r[crmMarketoIdField]);
    if (own !== undefined) contactPerson.set(String(r.id), own);
  }

  let calls = 0;
  for (const c of converted) {
    const leadId = String(c.record.id);
    const loser = positiveId(leadLinks.get(leadId)?.marketoId);
    const winner = contactPerson.get(String(c.record.converted_contact_id));
    // The contact took over the lead's person (it had none), or either side never reached Marketo.
    if (loser === undefined || winner === undefined || loser === winner) continue;
    try {
      calls++;
      await deps.marketo.leads.merge(winner, [loser]);
    } catch (err) {
      if (!isMarketoApiError(err) || err.retryable) throw err;
      if (err.code !== LEAD_NOT_FOUND) {
        tally.fail('lead', leadId, 'marketo', err.code, `merging Marketo lead ${loser} into ${winner} (the converted contact's) failed: ${err.code} ${err.marketoMessage}`);
        continue;
      }
      calls++;
      const present = new Set((await deps.marketo.leads.getByFilter({ filterType: 'id', filterValues: [loser, winner], fields: ['id'] })).items.map((l) => l.id));
      if (present.has(loser) || !present.has(winner)) {
        tally.fail('lead', leadId, 'marketo', err.code, `merging Marketo lead ${loser} into ${winner} (the converted contact's) failed: ${present.has(winner) ? 'the losing lead' : 'the winning lead'} is not in Marketo`);
        continue;
      }
    }
    await deps.store.merges.record('marketo', String(winner), [String(loser)]);
    tally.unlink('lead', [String(loser)]);
  }
  return calls;
}
