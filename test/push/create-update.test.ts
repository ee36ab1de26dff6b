import { startPushHarness, callsBetween, type PushHarness } from './support.js';
import { upsertStream } from '../../src/sync/push/index.js';
import { loadPushContext } from '../../src/sync/push/context.js';

/** Seed steps 1–3 through the activities: salespersons, companies, leads; echo suppression; idle cost. */
describe('push: create and update salespersons, companies, leads', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function cycle() {
    return {
      salesPersons: await h.activities.pushSalesPersons(),
      companies: await h.activities.pushCompanies(),
      leads: await h.activities.pushLeads(),
    };
  }

  async function leadsByCrmId(ids: string[]) {
    const page = await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: ids, fields: ['id', 'crmId', 'email', 'title', 'externalCompanyId', 'externalSalesPersonId', 'firstName'] });
    return new Map(page.items.map((l) => [String(l.crmId), l]));
  }

  it('creates each record type in Marketo by its external key and learns the Marketo ids', async () => {
    const [owner] = await h.user.insert('user', [{ email: 'owner@corp.example', first_name: 'Olive', last_name: 'Owner' }]);
    const [account] = await h.user.insert('account', [{ name: 'Acme', industry: 'Retail', owner_id: owner! }]);
    const contacts = await h.user.insert('contact', [
      { email: 'c1@acme.example', first_name: 'Cara', account_id: account!, owner_id: owner! },
      { email: 'c2@acme.example', first_name: 'Carl', account_id: account! },
    ]);
    const leads = await h.user.insert('lead', [{ email: 'l1@else.example', first_name: 'Lea', company: 'Elsewhere' }]);

    const r = await cycle();
    expect(r.salesPersons).toMatchObject({ written: 1, skipped: 0, hasMore: false });
    expect(r.companies).toMatchObject({ written: 1, skipped: 0 });
    expect(r.leads).toMatchObject({ written: 3, skipped: 0, mode: 'rest' });

    const sp = await h.marketo.salesPersons.get({ filterType: 'externalSalesPersonId', filterValues: [owner!] });
    expect(sp.items).toHaveLength(1);
    expect(sp.items[0]).toMatchObject({ email: 'owner@corp.example', firstName: 'Olive' });
    const co = await h.marketo.companies.get({ filterType: 'externalCompanyId', filterValues: [account!], fields: ['externalCompanyId', 'company', 'industry'] });
    expect(co.items[0]).toMatchObject({ company: 'Acme', industry: 'Retail' });

    const inMarketo = await leadsByCrmId([...contacts, ...leads]);
    expect(inMarketo.size).toBe(3);
    expect(inMarketo.get(contacts[0]!)).toMatchObject({ email: 'c1@acme.example', externalCompanyId: account, externalSalesPersonId: owner });
    expect(inMarketo.get(leads[0]!)).toMatchObject({ email: 'l1@else.example', externalCompanyId: null });

    const linked = await h.store.idMap.byCrmIds('lead', 'contact', contacts);
    expect(linked.get(contacts[0]!)?.marketoId).toBe(String(inMarketo.get(contacts[0]!)!.id));
    expect((await h.store.idMap.byCrmIds('salesPerson', 'user', [owner!])).get(owner!)?.marketoId).toBe(String(sp.items[0]!.id));
    expect((await h.store.idMap.byCrmIds('company', 'account', [account!])).size).toBe(1);
    expect((await h.store.watermarks.get(upsertStream('contact')))?.cursor).toBeTruthy();
  });

  it('costs no Marketo call when nothing changed, over all ten steps', async () => {
    const before = h.calls();
    const a = h.activities;
    const steps = [a.pushSalesPersons, a.pushCompanies, a.pushLeads, a.pushOpportunities, a.pushOpportunityRoles, a.deleteOpportunityRoles, a.deleteOpportunities, a.deleteCompanies, a.deleteSalesPersons, a.pushCustomObjects];
    for (const step of steps) expect(await step()).toMatchObject({ read: 0, written: 0, skipped: 0, calls: 0, hasMore: false });
    expect(callsBetween(before, h.calls())).toEqual({});
  });

  it('pushes a record changed several times once, with its last values', async () => {
    const [c] = await h.user.insert('contact', [{ email: 'multi@acme.example', title: 'One' }]);
    await h.user.update('contact', [{ id: c!, title: 'Two' }]);
    await h.user.update('contact', [{ id: c!, title: 'Three' }]);
    const before = h.calls();
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ written: 1, calls: 1 });
    expect(callsBetween(before, h.calls())).toEqual({ 'POST /rest/v1/leads.json': 1 });
    expect((await leadsByCrmId([c!])).get(c!)).toMatchObject({ title: 'Three' });
  });

  it('does not push back what the sync itself wrote to the CRM (echo suppression)', async () => {
    // The Marketo → CRM direction writes through the sync's connector: origin 'sync'.
    const written = await h.crm.upsert('contact', [{ email: 'from-marketo@acme.example', first_name: 'Echo', marketo_lead_id: 999_999 }], { keyField: 'marketo_lead_id' });
    expect(written[0]!.status).toBe('created');
    const [mine] = await h.user.insert('contact', [{ email: 'user-edit@acme.example' }]);
    const r = await h.activities.pushLeads();
    expect(r).toMatchObject({ read: 1, written: 1 });
    const found = await h.marketo.leads.getByFilter({ filterType: 'email', filterValues: ['from-marketo@acme.example'] });
    expect(found.items).toHaveLength(0);
    expect((await leadsByCrmId([mine!])).size).toBe(1);
  });

  it('pushes a ledgered record again when an operator asks for a retry', async () => {
    const [c] = await h.user.insert('contact', [{ email: 'again@acme.example' }]);
    await h.activities.pushLeads();
    // An earlier per-record refusal: the record's change is behind the watermark, only the ledger remembers it.
    await h.store.errors.record([{ entity: 'contact', recordKey: c!, operation: 'push', source: 'marketo', code: '1003', reason: 'test' }]);
    const [entry] = await h.store.errors.list({ entity: 'contact', status: 'open' });
    expect(await h.activities.pushLeads()).toMatchObject({ read: 0, written: 0 });
    await h.store.errors.retry([entry!.id]);
    expect(await h.activities.pushLeads()).toMatchObject({ read: 1, written: 1 });
    expect((await h.store.errors.list({ entity: 'contact' }))[0]).toMatchObject({ recordKey: c, status: 'resolved' });
  });

  it('moves the records mapped from the CRM only in the directions the mapping allows', async () => {
    // A field mapped toCrm only (Marketo → CRM) is never written to Marketo, even when the CRM changes it.
    const [c] = await h.user.insert('contact', [{ email: 'dir@acme.example', lead_score: 42 }]);
    const stored = await h.store.mappings.current();
    expect(stored).toBeUndefined();
    // No mapping saved yet: the push context holds the suggested one.
    const mapping = (await loadPushContext({ marketo: h.marketo, store: h.store, crm: h.crm })).context.config;
    const contactMapping = mapping.entities.find((e) => e.marketo === 'lead' && e.crm === 'contact')!;
    for (const f of contactMapping.fields) if (f.marketo === 'leadScore') f.direction = 'toCrm';
    await h.store.mappings.save(mapping);
    await h.activities.pushLeads();
    const lead = (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [c!], fields: ['leadScore', 'email'] })).items[0];
    expect(lead).toMatchObject({ email: 'dir@acme.example', leadScore: null });
  });

  it('leaves a stream whose mapping is switched off unread, and pushes its backlog once switched on', async () => {
    const current = (await h.store.mappings.current())!.config;
    const entity = current.entities.find((e) => e.marketo === 'salesPerson' && e.crm === 'user')!;
    entity.enabled = false;
    await h.store.mappings.save(current);
    const [rep] = await h.user.insert('user', [{ email: 'later@corp.example', last_name: 'Later' }]);
    const position = await h.store.watermarks.get(upsertStream('user'));
    expect(await h.activities.pushSalesPersons()).toMatchObject({ disabled: true, read: 0, calls: 0 });
    expect((await h.store.watermarks.get(upsertStream('user')))?.cursor).toBe(position?.cursor);

    entity.enabled = true;
    await h.store.mappings.save(current);
    expect(await h.activities.pushSalesPersons()).toMatchObject({ read: 1, written: 1 });
    expect((await h.marketo.salesPersons.get({ filterType: 'externalSalesPersonId', filterValues: [rep!] })).items).toHaveLength(1);
  });
});
