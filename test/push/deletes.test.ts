import { startPushHarness, type PushHarness } from './support.js';
import { deleteStream } from '../../src/sync/push/index.js';

/** Seed steps 10–13: roles, opportunities, companies, salespersons, after the cycle's creates and updates. */
describe('push: deletes in the seed order', () => {
  let h: PushHarness;
  beforeAll(async () => {
    h = await startPushHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** One cycle's CRM → Marketo steps, in the seed's order. */
  async function cycle() {
    const a = h.activities;
    const out: Record<string, Awaited<ReturnType<typeof a.pushLeads>>> = {};
    for (const step of ['pushSalesPersons', 'pushCompanies', 'pushLeads', 'pushOpportunities', 'pushOpportunityRoles', 'deleteOpportunityRoles', 'deleteOpportunities', 'deleteCompanies', 'deleteSalesPersons'] as const) {
      out[step] = await a[step]();
    }
    return out;
  }

  const salesPerson = async (id: string) => (await h.marketo.salesPersons.get({ filterType: 'externalSalesPersonId', filterValues: [id] })).items;
  const company = async (id: string) => (await h.marketo.companies.get({ filterType: 'externalCompanyId', filterValues: [id] })).items;
  const opportunity = async (id: string) => (await h.marketo.opportunities.get({ filterType: 'externalOpportunityId', filterValues: [id] })).items;
  const roles = async (id: string) => (await h.marketo.opportunityRoles.get({ filterType: 'externalOpportunityId', filterValues: [id] })).items;

  it('deletes roles, opportunity, company and salesperson after the leads let go of the salesperson', async () => {
    const [rep] = await h.user.insert('user', [{ email: 'gone@corp.example', last_name: 'Gone' }]);
    const [acct] = await h.user.insert('account', [{ name: 'Umbrella', owner_id: rep! }]);
    const [contact] = await h.user.insert('contact', [{ email: 'alice@umbrella.example', account_id: acct!, owner_id: rep! }]);
    const [opp] = await h.user.insert('opportunity', [{ name: 'Deal', account_id: acct!, amount: '5.00' }]);
    await h.user.insert('opportunityRole', [{ opportunity_id: opp!, contact_id: contact!, role: 'Buyer' }]);
    await cycle();
    expect(await salesPerson(rep!)).toHaveLength(1);
    expect(await roles(opp!)).toHaveLength(1);
    const lead = async () => (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact!], fields: ['externalSalesPersonId', 'externalCompanyId'] })).items[0];
    expect(await lead()).toMatchObject({ externalSalesPersonId: rep, externalCompanyId: acct });

    // A role only Marketo has (another lead, made in Marketo) must go before the opportunity too.
    const other = h.emulator.subscription.createLead({ email: 'other@umbrella.example' });
    const [extra] = await h.marketo.opportunityRoles.sync({ input: [{ externalOpportunityId: opp!, leadId: other, role: 'Observer' }] });
    expect(extra?.status).toBe('created');
    expect(await roles(opp!)).toHaveLength(2);

    // The CRM deletes the opportunity (its roles go with it), the account and the user; the
    // contact's owner and account are cleared by the CRM itself.
    await h.user.remove('opportunity', [opp!]);
    await h.user.remove('account', [acct!]);
    await h.user.remove('user', [rep!]);
    const r = await cycle();
    expect(r.pushLeads).toMatchObject({ written: 1 });
    expect(r.deleteOpportunityRoles).toMatchObject({ written: 1, skipped: 0 });
    expect(r.deleteOpportunities).toMatchObject({ written: 1, skipped: 0 });
    expect(r.deleteCompanies).toMatchObject({ written: 1, skipped: 0 });
    expect(r.deleteSalesPersons).toMatchObject({ written: 1, skipped: 0 });
    expect(await roles(opp!)).toEqual([]);
    expect(await opportunity(opp!)).toEqual([]);
    expect(await company(acct!)).toEqual([]);
    expect(await salesPerson(rep!)).toEqual([]);
    expect(await lead()).toMatchObject({ externalSalesPersonId: null, externalCompanyId: null });
    expect(await h.store.errors.list()).toEqual([]);
    expect((await h.store.idMap.byCrmIds('salesPerson', 'user', [rep!])).size).toBe(0);
    expect((await h.store.idMap.byCrmIds('opportunity', 'opportunity', [opp!])).size).toBe(0);
  });

  it('ledgers a salesperson Marketo leads still point at and deletes it once they are reassigned', async () => {
    const [rep] = await h.user.insert('user', [{ email: 'busy@corp.example', last_name: 'Busy' }]);
    await cycle();
    // A lead only Marketo has (no CRM record clears it) still names the salesperson.
    const marketoOnly = h.emulator.subscription.createLead({ email: 'only@marketo.example', externalSalesPersonId: rep! });
    await h.user.remove('user', [rep!]);
    const before = await h.store.watermarks.get(deleteStream('user'));
    const r = await h.activities.deleteSalesPersons();
    expect(r).toMatchObject({ written: 0, skipped: 1 });
    expect(await salesPerson(rep!)).toHaveLength(1);
    const open = await h.store.errors.list({ entity: 'user', status: 'open' });
    expect(open.map((e) => [e.recordKey, e.operation, e.code])).toEqual([[rep, 'push-delete', '1022']]);
    // The refusal is ledgered, not a failed batch: the stream moves on.
    expect((await h.store.watermarks.get(deleteStream('user')))?.cursor).not.toBe(before?.cursor);

    h.emulator.subscription.editLeadAsUser(marketoOnly, { externalSalesPersonId: null });
    expect(await h.activities.deleteSalesPersons()).toMatchObject({ written: 1, skipped: 0 });
    expect(await salesPerson(rep!)).toEqual([]);
    expect((await h.store.errors.list({ entity: 'user' })).map((e) => e.status)).toEqual(['resolved']);
  });

  it('a tombstone of a record the sync itself deleted is not pushed', async () => {
    const [acct] = await h.user.insert('account', [{ name: 'Soylent' }]);
    await cycle();
    // Deleted by the sync (e.g. because Marketo deleted it first): nothing to carry back.
    await h.crm.delete('account', [acct!]);
    const r = await h.activities.deleteCompanies();
    expect(r).toMatchObject({ read: 0, written: 0, calls: 0 });
    expect(await company(acct!)).toHaveLength(1);
  });
});
