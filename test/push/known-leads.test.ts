import { startPushHarness, callsBetween, type PushHarness } from './support.js';
import { bulkService } from '../../emulator/bulk/service.js';

/**
 * Persons whose Marketo lead is known (id map, else the CRM row's marketo_lead_id) are written
 * by that id: a Marketo-born person whose lookup field is still empty in Marketo must not get a
 * second lead when a CRM user edits it.
 */
describe('push: persons with a known Marketo lead', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness({ bulkThreshold: 1000 });
  });
  afterAll(async () => {
    await h.close();
  });

  const byEmail = (email: string) => h.emulator.subscription.findLeads('email', [email]);
  const crmIdOf = (leadId: number) => h.emulator.subscription.leadValue(leadId, 'crmId');

  /** A person as the bootstrap or the pull copies it from Marketo: the sync's own write, optionally linked in the id map. */
  async function marketoBorn(email: string, linked: boolean): Promise<{ marketoId: number; contactId: string }> {
    const marketoId = h.emulator.subscription.createLead({ email, firstName: 'Born' });
    const [r] = await h.crm.upsert('contact', [{ email, first_name: 'Born', marketo_lead_id: marketoId }], { keyField: 'id' });
    if (r?.status === 'failed' || !r) throw new Error('fixture contact refused');
    if (linked) await h.store.idMap.link([{ entity: 'lead', marketoId: String(marketoId), crmType: 'contact', crmId: r.id }]);
    return { marketoId, contactId: r.id };
  }

  it('writes an edit of a Marketo-born person to its lead by id and sets the lead key there: still one lead', async () => {
    const viaMap = await marketoBorn('born-linked@known.example', true);
    const viaColumn = await marketoBorn('born-column@known.example', false);
    // The sync's own writes are not pushed back.
    expect(await h.activities.pushLeads()).toMatchObject({ written: 0, skipped: 0 });
    expect(crmIdOf(viaMap.marketoId)).toBeNull();

    const [fresh] = await h.user.insert('contact', [{ email: 'new@known.example', first_name: 'New' }]);
    await h.user.update('contact', [
      { id: viaMap.contactId, first_name: 'Edited1' },
      { id: viaColumn.contactId, first_name: 'Edited2' },
    ]);
    const before = h.calls();
    expect(await h.activities.pushLeads()).toMatchObject({ written: 3, skipped: 0, mode: 'rest' });
    // Two groups (by id, by CRM key): one call each.
    expect(callsBetween(before, h.calls())['POST /rest/v1/leads.json']).toBe(2);

    expect(byEmail('born-linked@known.example')).toEqual([viaMap.marketoId]);
    expect(byEmail('born-column@known.example')).toEqual([viaColumn.marketoId]);
    expect(crmIdOf(viaMap.marketoId)).toBe(viaMap.contactId);
    expect(crmIdOf(viaColumn.marketoId)).toBe(viaColumn.contactId);
    expect(h.emulator.subscription.leadValue(viaColumn.marketoId, 'firstName')).toBe('Edited2');
    expect(byEmail('new@known.example')).toHaveLength(1);
    expect(crmIdOf(byEmail('new@known.example')[0]!)).toBe(fresh);
    // The id map learns the lead of the person that was known only by its CRM column.
    expect((await h.store.idMap.byCrmIds('lead', 'contact', [viaColumn.contactId])).get(viaColumn.contactId)?.marketoId).toBe(String(viaColumn.marketoId));

    // A second edit stays on the same lead.
    await h.user.update('contact', [{ id: viaMap.contactId, first_name: 'Again' }]);
    expect(await h.activities.pushLeads()).toMatchObject({ written: 1, skipped: 0 });
    expect(byEmail('born-linked@known.example')).toEqual([viaMap.marketoId]);
  });

  it('ledgers a person whose lead Marketo deleted (1004) instead of creating it again', async () => {
    const gone = await marketoBorn('gone@known.example', true);
    h.emulator.subscription.deleteLeads([gone.marketoId]);
    await h.user.update('contact', [{ id: gone.contactId, first_name: 'Edited' }]);
    expect(await h.activities.pushLeads()).toMatchObject({ written: 0, skipped: 1 });
    expect(byEmail('gone@known.example')).toEqual([]);
    expect(h.emulator.subscription.findLeads('crmId', [gone.contactId])).toEqual([]);
    const ledger = await h.store.errors.list({ entity: 'contact', status: 'open' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[gone.contactId, '1004']]);
  });

  it('writes a person whose lead lost a Marketo merge to the winner', async () => {
    const loser = await marketoBorn('loser@known.example', true);
    const winnerId = h.emulator.subscription.createLead({ email: 'winner@known.example', firstName: 'Winner' });
    h.emulator.subscription.mergeLeads(winnerId, [loser.marketoId]);
    await h.store.merges.record('marketo', String(winnerId), [String(loser.marketoId)]);
    await h.user.update('contact', [{ id: loser.contactId, first_name: 'AfterMerge' }]);
    expect(await h.activities.pushLeads()).toMatchObject({ written: 1, skipped: 0 });
    expect(h.emulator.subscription.findLeads('crmId', [loser.contactId])).toEqual([winnerId]);
    expect(h.emulator.subscription.leadValue(winnerId, 'firstName')).toBe('AfterMerge');
    expect((await h.store.idMap.byCrmIds('lead', 'contact', [loser.contactId])).get(loser.contactId)?.marketoId).toBe(String(winnerId));
  });

  it('does not push a person flagged deleted_in_marketo', async () => {
    const [r] = await h.crm.upsert('contact', [{ email: 'flagged@known.example', deleted_in_marketo: true }], { keyField: 'id' });
    if (r?.status !== 'created') throw new Error('fixture contact refused');
    await h.user.update('contact', [{ id: r.id, first_name: 'Edited' }]);
    expect(await h.activities.pushLeads()).toMatchObject({ read: 1, written: 0, skipped: 0 });
    expect(byEmail('flagged@known.example')).toEqual([]);
    expect(h.emulator.subscription.findLeads('crmId', [r.id])).toEqual([]);
  });
});

describe('push: a Bulk Lead Import batch that fails as a whole', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness({ bulkThreshold: 10, bulkMaxFileBytes: 2_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('ledgers every person of the batch and the next run imports them', async () => {
    const ids = await h.user.insert('contact', Array.from({ length: 40 }, (_, i) => ({ email: `batch${i}@fail.example`, first_name: `Batch${i}` })));
    bulkService(h.emulator.subscription).imports.failNext = 1;
    const first = await h.activities.pushLeads();
    expect(first.mode).toBe('bulk');
    const ledger = await h.store.errors.list({ entity: 'contact', status: 'open', limit: 1000 });
    // Several files: only the first batch failed; all its persons are ledgered, the others are in Marketo.
    expect(first.skipped).toBeGreaterThan(0);
    expect(first.skipped).toBeLessThan(40);
    expect(first.written + first.skipped).toBe(40);
    expect(ledger).toHaveLength(first.skipped);
    expect(new Set(ledger.map((e) => e.code))).toEqual(new Set(['IMPORT_BATCH_FAILED']));
    const missing = ids.filter((id) => h.emulator.subscription.findLeads('crmId', [id]).length === 0);
    expect(missing.sort()).toEqual(ledger.map((e) => e.recordKey).sort());

    // No new change in the CRM: the retry comes from the ledger.
    const second = await h.activities.pushLeads();
    expect(second).toMatchObject({ read: first.skipped, written: first.skipped, skipped: 0 });
    for (const id of ids) expect(h.emulator.subscription.findLeads('crmId', [id])).toHaveLength(1);
    expect(await h.store.errors.list({ entity: 'contact', status: 'open' })).toEqual([]);
    expect(await h.activities.pushLeads()).toMatchObject({ read: 0, written: 0 });
  });
});

describe('push: many known persons through Bulk Lead Import by id', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness({ bulkUpdateThreshold: 5, bulkPollIntervalMs: 20 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('updates them with one import by id (no second lead); a deleted lead is ledgered, a merged one goes to its winner', async () => {
    const sub = h.emulator.subscription;
    const born = [];
    for (let i = 0; i < 6; i++) {
      const marketoId = sub.createLead({ email: `bulk${i}@byid.example`, firstName: 'Born' });
      const [r] = await h.crm.upsert('contact', [{ email: `bulk${i}@byid.example`, first_name: 'Born', marketo_lead_id: marketoId }], { keyField: 'id' });
      if (r?.status !== 'created') throw new Error('fixture contact refused');
      born.push({ marketoId, contactId: r.id });
    }
    const [gone, merged] = [born[4]!, born[5]!];
    sub.deleteLeads([gone.marketoId]);
    const winnerId = sub.createLead({ email: 'winner@byid.example', firstName: 'Winner' });
    sub.mergeLeads(winnerId, [merged.marketoId]);
    await h.store.merges.record('marketo', String(winnerId), [String(merged.marketoId)]);
    const leadsBefore = sub.leads.count;

    await h.user.update('contact', born.map((b, i) => ({ id: b.contactId, first_name: `Edited${i}` })));
    const before = h.calls();
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ read: 6, written: 5, skipped: 1, mode: 'bulk' });
    const calls = callsBetween(before, h.calls());
    expect(calls['POST /bulk/v1/leads.json']).toBe(1);
    // Only the two rows the import refused go through REST by id (one call), then the merge loser to its winner (one more).
    expect(calls['POST /rest/v1/leads.json']).toBe(2);

    for (const [i, b] of born.slice(0, 4).entries()) {
      expect(sub.leadValue(b.marketoId, 'firstName')).toBe(`Edited${i}`);
      // The CRM key reached the lead: Marketo now knows the person by it too.
      expect(sub.leadValue(b.marketoId, 'crmId')).toBe(b.contactId);
      expect(sub.findLeads('email', [`bulk${i}@byid.example`])).toEqual([b.marketoId]);
    }
    expect(sub.leadValue(winnerId, 'firstName')).toBe('Edited5');
    expect(sub.leads.count).toBe(leadsBefore);
    const ledger = await h.store.errors.list({ entity: 'contact', status: 'open' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[gone.contactId, '1004']]);
    expect((await h.store.idMap.byCrmIds('lead', 'contact', [born[0]!.contactId])).get(born[0]!.contactId)?.marketoId).toBe(String(born[0]!.marketoId));
  });

  it('ledgers every person of an import by id that fails as a whole, and the next run writes them', async () => {
    const sub = h.emulator.subscription;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const marketoId = sub.createLead({ email: `whole${i}@byid.example`, firstName: 'Born' });
      const [r] = await h.crm.upsert('contact', [{ email: `whole${i}@byid.example`, marketo_lead_id: marketoId }], { keyField: 'id' });
      if (r?.status !== 'created') throw new Error('fixture contact refused');
      ids.push(r.id);
    }
    await h.user.update('contact', ids.map((id) => ({ id, first_name: 'Whole' })));
    bulkService(sub).imports.failNext = 1;
    expect(await h.activities.pushLeads()).toMatchObject({ written: 0, skipped: 5, mode: 'bulk' });
    expect(new Set((await h.store.errors.list({ entity: 'contact', status: 'open' })).filter((e) => ids.includes(e.recordKey)).map((e) => e.code))).toEqual(new Set(['IMPORT_BATCH_FAILED']));
    expect(await h.activities.pushLeads()).toMatchObject({ read: 5, written: 5, skipped: 0, mode: 'bulk' });
    for (const id of ids) expect(sub.findLeads('crmId', [id])).toHaveLength(1);
  });
});
