import { startPushHarness, callsBetween, type PushHarness } from './support.js';
import { upsertStream } from '../../src/sync/push/index.js';

async function leadByCrmId(h: PushHarness, crmId: string, fields = ['id', 'crmId', 'email', 'industry', 'externalCompanyId']) {
  return (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [crmId], fields })).items;
}

describe('push: leads (REST)', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness({ bulkThreshold: 1000 });
    // A contact-level column that is a company-type field in Marketo (Describe Company lists `industry`).
    await h.crm.provisionField('contact', { name: 'industry', type: 'string', length: 255 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('writes company-type fields of a contact linked to a company to the company, not the lead', async () => {
    const [account] = await h.user.insert('account', [{ name: 'Globex', industry: 'Retail' }]);
    await h.activities.pushCompanies();
    const [contact] = await h.user.insert('contact', [{ email: 'hank@globex.example', account_id: account!, industry: 'Energy' }]);
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ written: 1, skipped: 0 });
    expect(await h.store.errors.list({ entity: 'contact' })).toEqual([]);
    const company = (await h.marketo.companies.get({ filterType: 'externalCompanyId', filterValues: [account!], fields: ['industry', 'company'] })).items[0];
    expect(company).toMatchObject({ industry: 'Energy', company: 'Globex' });
    // The linked lead shows its company's values for company fields.
    expect((await leadByCrmId(h, contact!))[0]).toMatchObject({ externalCompanyId: account, industry: 'Energy' });
  });

  it('ledgers a record the mapping refuses and one Marketo skips; the others arrive and the watermark moves', async () => {
    const [ok1, badEmail, dup, ok2] = await h.user.insert('contact', [
      { email: 'fine1@ok.example' },
      // The CRM accepts it (its check is only an @), Marketo's email type does not.
      { email: 'broken@nodot' },
      { email: 'dup@ok.example' },
      { email: 'fine2@ok.example' },
    ]);
    // Two Marketo leads already hold this CRM key: Marketo answers 1007 for it.
    h.emulator.subscription.createLead({ crmId: dup!, email: 'x1@dup.example' });
    h.emulator.subscription.createLead({ crmId: dup!, email: 'x2@dup.example' });
    const before = await h.store.watermarks.get(upsertStream('contact'));

    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ written: 2, skipped: 2 });
    expect((await leadByCrmId(h, ok1!))[0]?.email).toBe('fine1@ok.example');
    expect((await leadByCrmId(h, ok2!))[0]?.email).toBe('fine2@ok.example');
    expect(await leadByCrmId(h, badEmail!)).toEqual([]);
    const ledger = await h.store.errors.list({ entity: 'contact', status: 'open' });
    expect(ledger.map((e) => [e.recordKey, e.operation, e.source, e.code]).sort()).toEqual(
      [
        [badEmail, 'push', 'crm', 'MAPPING'],
        [dup, 'push', 'marketo', '1007'],
      ].sort(),
    );
    expect(ledger.find((e) => e.recordKey === badEmail)?.reason).toMatch(/email/);
    const after = await h.store.watermarks.get(upsertStream('contact'));
    expect(after?.cursor).not.toBe(before?.cursor);

    // The user fixes the address: the next push writes it and resolves the ledger entry.
    await h.user.update('contact', [{ id: badEmail!, email: 'fixed@ok.example' }]);
    expect(await h.activities.pushLeads()).toMatchObject({ written: 1, skipped: 0 });
    expect((await leadByCrmId(h, badEmail!))[0]?.email).toBe('fixed@ok.example');
    expect((await h.store.errors.list({ entity: 'contact', status: 'resolved' })).map((e) => e.recordKey)).toEqual([badEmail]);
  });

  it('carries a lead conversion to the same Marketo person: new CRM key, new company, no second lead', async () => {
    const [lead] = await h.user.insert('lead', [{ email: 'convert@me.example', last_name: 'Convert' }]);
    await h.activities.pushLeads();
    const before = await leadByCrmId(h, lead!);
    expect(before).toHaveLength(1);
    const marketoId = before[0]!.id;
    // The Marketo → CRM direction keeps the Marketo id on the CRM record (written as the sync).
    await h.crm.upsert('lead', [{ id: lead!, marketo_lead_id: marketoId }], { keyField: 'id', updateOnly: true });
    const converted = await h.user.connector.convertLead({ leadId: lead!, newAccount: { name: 'NewCo' } });

    await h.activities.pushCompanies();
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ skipped: 0 });
    const after = await leadByCrmId(h, converted.contactId);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: marketoId, externalCompanyId: converted.accountId });
    expect(await leadByCrmId(h, lead!)).toEqual([]);
    expect(h.emulator.subscription.findLeads('email', ['convert@me.example'])).toEqual([marketoId]);
    expect((await h.store.idMap.byMarketoIds('lead', [String(marketoId)])).get(String(marketoId))).toMatchObject({ crmType: 'contact', crmId: converted.contactId });
  });

  it('does not move the watermark past a write that failed, and writes it on the next attempt', async () => {
    const [c] = await h.user.insert('contact', [{ email: 'retry@ok.example' }]);
    const before = await h.store.watermarks.get(upsertStream('contact'));
    const fault = h.emulator.runtime.faults.add({ path: '/rest/v1/leads.json', method: 'POST', httpStatus: 503, count: 1 });
    await expect(h.activities.pushLeads()).rejects.toThrow();
    h.emulator.runtime.faults.remove(fault.id!);
    expect((await h.store.watermarks.get(upsertStream('contact')))?.cursor).toBe(before?.cursor);
    expect(await leadByCrmId(h, c!)).toEqual([]);

    expect(await h.activities.pushLeads()).toMatchObject({ read: 1, written: 1 });
    expect((await leadByCrmId(h, c!))[0]?.email).toBe('retry@ok.example');
    expect((await h.store.watermarks.get(upsertStream('contact')))?.cursor).not.toBe(before?.cursor);
  });
});

describe('push: leads, REST or Bulk Lead Import by volume', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness({ bulkThreshold: 20, batchSize: 10 });
  });
  afterAll(async () => {
    await h.close();
  });

  const contacts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@vol.example`, first_name: `${tag}${i}` }));

  it('uses REST batches below the threshold', async () => {
    await h.user.insert('contact', contacts(19, 'rest'));
    const before = h.calls();
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ mode: 'rest', written: 19 });
    const calls = callsBetween(before, h.calls());
    expect(calls['POST /rest/v1/leads.json']).toBe(2);
    // The first step of a fresh state store also describes the objects once (then they are cached).
    expect(r.calls).toBe(Object.entries(calls).filter(([k]) => !k.includes('/identity/')).reduce((a, [, n]) => a + n, 0));
  });

  it('uses Bulk Lead Import from the threshold on, ledgers its failed rows and learns the new ids', async () => {
    const [dup] = await h.user.insert('contact', [{ email: 'dup@vol.example' }]);
    // Two Marketo leads hold this CRM key: the import fails that row.
    h.emulator.subscription.createLead({ crmId: dup!, email: 'd1@vol.example' });
    h.emulator.subscription.createLead({ crmId: dup!, email: 'd2@vol.example' });
    const ids = await h.user.insert('contact', contacts(25, 'bulk'));
    const before = h.calls();
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ mode: 'bulk', written: 25, skipped: 1 });
    const ledger = await h.store.errors.list({ entity: 'contact' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[dup, 'IMPORT_FAILED']]);
    const calls = callsBetween(before, h.calls());
    expect(calls['POST /rest/v1/leads.json']).toBeUndefined();
    expect(calls['POST /bulk/v1/leads.json']).toBe(1);
    // New leads: their ids are looked up by the CRM key, 300 per call.
    expect(calls['GET /rest/v1/leads.json']).toBe(1);
    const linked = await h.store.idMap.byCrmIds('lead', 'contact', ids);
    expect(linked.size).toBe(25);
    const inMarketo = await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: ids, fields: ['id', 'crmId', 'firstName'] });
    expect(inMarketo.items).toHaveLength(25);
    for (const l of inMarketo.items) expect(linked.get(String(l.crmId))?.marketoId).toBe(String(l.id));

    // Leads the id map knows are updated by id (REST, `batchSize` a call: the emulator's import
    // does not take lookupField=id), with no lookups and no import.
    await h.user.update('contact', ids.map((id, i) => ({ id, first_name: `Renamed${i}` })));
    const before2 = h.calls();
    expect(await h.activities.pushLeads()).toMatchObject({ mode: 'rest', written: 25 });
    const calls2 = callsBetween(before2, h.calls());
    expect(calls2['GET /rest/v1/leads.json']).toBeUndefined();
    expect(calls2['POST /bulk/v1/leads.json']).toBeUndefined();
    expect(calls2['POST /rest/v1/leads.json']).toBe(3);
    const renamed = await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [ids[3]!], fields: ['firstName'] });
    expect(renamed.items[0]?.firstName).toBe('Renamed3');
  });
});
