import { startPushHarness, callsBetween, type PushHarness } from './support.js';
import { loadPushContext } from '../../src/sync/push/context.js';
import { MARKETO_ONLY_ENTITIES, isSyncKeyField } from '../../src/crm/marketo-keys.js';

/**
 * Records that came from Marketo keep Marketo's keys (external_company_id, external_sales_person_id,
 * external_opportunity_id, role marketo_guid): the push must address them by those keys, for
 * updates, for references from other records, and for deletes.
 */
describe('push: Marketo-born records keep their Marketo keys', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const steps = ['pushSalesPersons', 'pushCompanies', 'pushLeads', 'pushOpportunities', 'pushOpportunityRoles', 'deleteOpportunityRoles', 'deleteOpportunities', 'deleteCompanies', 'deleteSalesPersons'] as const;
  async function cycle() {
    const out: Record<string, Awaited<ReturnType<PushHarness['activities']['pushLeads']>>> = {};
    for (const step of steps) out[step] = await h.activities[step]();
    return out;
  }
  const company = async (key: string) => (await h.marketo.companies.get({ filterType: 'externalCompanyId', filterValues: [key], fields: ['externalCompanyId', 'company', 'industry'] })).items;
  const salesPerson = async (key: string) => (await h.marketo.salesPersons.get({ filterType: 'externalSalesPersonId', filterValues: [key] })).items;
  const opportunity = async (key: string) =>
    (await h.marketo.opportunities.get({ filterType: 'externalOpportunityId', filterValues: [key], fields: ['externalOpportunityId', 'name', 'amount', 'externalCompanyId', 'externalSalesPersonId'] })).items;
  const roles = async (key: string) => (await h.marketo.opportunityRoles.get({ filterType: 'externalOpportunityId', filterValues: [key], fields: ['marketoGUID', 'leadId', 'role'] })).items;

  it('updates, references and deletes Marketo-born records by their Marketo keys', async () => {
    // In Marketo first, then copied into the CRM by the bootstrap (the sync's own writes).
    expect((await h.marketo.salesPersons.sync({ input: [{ externalSalesPersonId: 'EXT-SP-1', email: 'rep@seller.example', lastName: 'Rep' }] }))[0]?.status).toBe('created');
    expect((await h.marketo.companies.sync({ input: [{ externalCompanyId: 'EXT-C-1', company: 'Born in Marketo' }] }))[0]?.status).toBe('created');
    expect((await h.marketo.opportunities.sync({ input: [{ externalOpportunityId: 'EXT-O-1', name: 'Marketo deal', externalCompanyId: 'EXT-C-1' }] }))[0]?.status).toBe('created');
    const [user] = await h.crm.upsert('user', [{ external_sales_person_id: 'EXT-SP-1', email: 'rep@seller.example', last_name: 'Rep' }], { keyField: 'external_sales_person_id' });
    const [account] = await h.crm.upsert('account', [{ external_company_id: 'EXT-C-1', name: 'Born in Marketo' }], { keyField: 'external_company_id' });
    const userId = user?.status === 'created' ? user.id : '';
    const accountId = account?.status === 'created' ? account.id : '';
    const [opp] = await h.crm.upsert('opportunity', [{ external_opportunity_id: 'EXT-O-1', name: 'Marketo deal', account_id: accountId }], { keyField: 'external_opportunity_id' });
    const oppId = opp?.status === 'created' ? opp.id : '';
    expect([userId, accountId, oppId].every((id) => id !== '')).toBe(true);

    // CRM users then work on them.
    await h.user.update('account', [{ id: accountId, industry: 'Mining' }]);
    await h.user.update('opportunity', [{ id: oppId, amount: '100.00', owner_id: userId }]);
    const [contact] = await h.user.insert('contact', [{ email: 'pat@born.example', account_id: accountId, owner_id: userId }]);
    const [role] = await h.user.insert('opportunityRole', [{ opportunity_id: oppId, contact_id: contact!, role: 'Buyer' }]);

    const r = await cycle();
    expect(r.pushCompanies).toMatchObject({ written: 1, skipped: 0 });
    expect(r.pushOpportunities).toMatchObject({ written: 1, skipped: 0 });
    expect(r.pushOpportunityRoles).toMatchObject({ written: 1, skipped: 0 });
    // Updated under Marketo's key; nothing created under the CRM ids.
    expect(await company('EXT-C-1')).toEqual([expect.objectContaining({ company: 'Born in Marketo', industry: 'Mining' })]);
    expect(await company(accountId)).toEqual([]);
    expect(await opportunity('EXT-O-1')).toEqual([expect.objectContaining({ amount: 100, externalCompanyId: 'EXT-C-1', externalSalesPersonId: 'EXT-SP-1' })]);
    expect(await opportunity(oppId)).toEqual([]);
    const lead = (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact!], fields: ['id', 'externalCompanyId', 'externalSalesPersonId'] })).items[0];
    expect(lead).toMatchObject({ externalCompanyId: 'EXT-C-1', externalSalesPersonId: 'EXT-SP-1' });
    const [marketoRole] = await roles('EXT-O-1');
    expect(marketoRole).toMatchObject({ leadId: lead!.id, role: 'Buyer' });

    // The role keeps its Marketo GUID in the CRM; recording it is not a change to push back.
    const [crmRole] = await h.crm.getRecords('opportunityRole', [role!]);
    expect(crmRole).toMatchObject({ marketo_guid: marketoRole!.marketoGUID });
    const before = h.calls();
    expect(await h.activities.pushOpportunityRoles()).toMatchObject({ read: 0, calls: 0 });
    expect(callsBetween(before, h.calls())).toEqual({});

    // Deletes find the Marketo records by the keys the tombstones kept.
    await h.user.remove('opportunity', [oppId]);
    await h.user.remove('account', [accountId]);
    await h.user.remove('user', [userId]);
    const d = await cycle();
    expect(d.deleteOpportunityRoles).toMatchObject({ written: 1, skipped: 0 });
    expect(d.deleteOpportunities).toMatchObject({ written: 1, skipped: 0 });
    expect(d.deleteCompanies).toMatchObject({ written: 1, skipped: 0 });
    expect(d.deleteSalesPersons).toMatchObject({ written: 1, skipped: 0 });
    expect(await roles('EXT-O-1')).toEqual([]);
    expect(await opportunity('EXT-O-1')).toEqual([]);
    expect(await company('EXT-C-1')).toEqual([]);
    expect(await salesPerson('EXT-SP-1')).toEqual([]);
    expect(await h.store.errors.list({ status: 'open' })).toEqual([]);
  });

  it('never pushes the Marketo-only objects and never maps key columns as ordinary fields', async () => {
    await h.user.insert('campaign', [{ name: 'Webinar 2026', marketo_program_id: 1001 }]);
    await h.user.insert('staticList', [{ name: 'VIPs', marketo_list_id: 7 }]);
    const before = h.calls();
    for (const step of steps) expect(await h.activities[step]()).toMatchObject({ read: 0, written: 0, calls: 0 });
    expect(callsBetween(before, h.calls())).toEqual({});

    const { config } = (await loadPushContext({ marketo: h.marketo, store: h.store, crm: h.crm })).context;
    expect(config.entities.filter((e) => MARKETO_ONLY_ENTITIES.has(e.crm))).toEqual([]);
    const keyFields = config.entities.flatMap((e) => e.fields.filter((f) => isSyncKeyField(e.crm, f.crm)).map((f) => `${e.crm}.${f.crm}`));
    expect(keyFields).toEqual([]);
  });
});
