import { callsBetween, startPullHarness, type PullHarness } from './support.js';

/** Lead conversion (seed, "Lead Conversion") across both halves of the cycle. */
describe('pull: lead conversion', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
    const { rows } = await h.store.pool.query(`SELECT count(*)::int AS n FROM crm.${table} WHERE ${where}`, params);
    return (rows[0] as { n: number }).n;
  }

  it('round trip: a CRM conversion reaches Marketo as the same person and does not come back as a new one', async () => {
    const [lead] = await h.insert('lead', [{ email: 'conv@prospect.example', first_name: 'Connie', company: 'Prospect Ltd' }]);
    await h.fullCycle();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'lead', [lead!])).get(lead!)!.marketoId);
    // The pull taught the CRM lead its Marketo id (the push only linked it in the id map).
    expect((await h.crm.getRecords('lead', [lead!]))[0]).toMatchObject({ marketo_lead_id: marketoId });

    const converted = await h.user.convertLead({ leadId: lead! });
    await h.fullCycle();
    await h.fullCycle();
    const persons = await h.marketo.leads.getByFilter({ filterType: 'email', filterValues: ['conv@prospect.example'], fields: ['id', 'crmId', 'externalCompanyId'] });
    expect(persons.items).toEqual([expect.objectContaining({ id: marketoId, crmId: converted.contactId, externalCompanyId: converted.accountId })]);
    expect(await h.person(marketoId)).toMatchObject({ type: 'contact', record: { id: converted.contactId, account_id: converted.accountId } });
    expect(await count('leads', `email = 'conv@prospect.example' AND NOT is_converted`)).toBe(0);
    expect(await count('contacts', `email = 'conv@prospect.example'`)).toBe(1);
  });

  it('converts a CRM lead whose Marketo person a Marketo user linked to a company', async () => {
    const id = h.createLead({ email: 'joins@globex.example', firstName: 'Gil', title: 'Engineer' });
    await h.fullCycle();
    const lead = (await h.person(id))!;
    expect(lead.type).toBe('lead');
    await h.marketo.companies.sync({ action: 'createOrUpdate', input: [{ externalCompanyId: 'GLOBEX-1', company: 'Globex', industry: 'Energy' }] });
    h.emulator.subscription.editLeadAsUser(id, { externalCompanyId: 'GLOBEX-1' });

    const [step4] = await h.fullCycle();
    expect(step4).toMatchObject({ converted: 1, skipped: 0 });
    const [crmLead] = await h.crm.getRecords('lead', [String(lead.record.id)]);
    expect(crmLead).toMatchObject({ is_converted: true, marketo_lead_id: null });
    const contact = (await h.person(id))!;
    expect(contact).toMatchObject({ type: 'contact', record: { id: crmLead!.converted_contact_id, first_name: 'Gil', title: 'Engineer' } });
    const [account] = await h.crm.getRecords('account', [String(contact.record.account_id)]);
    expect(account).toMatchObject({ name: 'Globex', industry: 'Energy', external_company_id: 'GLOBEX-1' });
    expect(await count('contacts', `email = 'joins@globex.example'`)).toBe(1);
    // Nothing bounces: another cycle changes nothing on either side.
    const [again] = await h.fullCycle();
    expect(again).toMatchObject({ written: 0, skipped: 0 });
    expect(again!.converted ?? 0).toBe(0);
  });

  it('a CRM conversion into an existing contact with its own Marketo person merges the lead\'s person into the contact\'s (seed: "Converting a Lead into an Existing Contact Record")', async () => {
    const [lead] = await h.insert('lead', [{ email: 'dup-lead@prospect.example', first_name: 'Lena', title: 'Buyer' }]);
    const [contact] = await h.insert('contact', [{ email: 'lena@customer.example', first_name: 'Lena', last_name: 'Lind' }]);
    await h.fullCycle();
    const loser = Number((await h.store.idMap.byCrmIds('lead', 'lead', [lead!])).get(lead!)!.marketoId);
    const winner = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);
    expect(loser).not.toBe(winner);

    const converted = await h.user.convertLead({ leadId: lead!, contactId: contact! });
    expect(converted).toMatchObject({ contactId: contact, createdContact: false });
    const before = h.calls();
    await h.fullCycle();
    await h.fullCycle();
    // One merge call, by the push; the loser is gone from Marketo and its values filled the winner's gaps.
    expect(callsBetween(before, h.calls())['POST /rest/v1/leads/:leadId/merge.json']).toBe(1);
    expect(h.emulator.subscription.getLead(loser)).toBeUndefined();
    expect(h.emulator.subscription.getLead(winner)?.values).toMatchObject({ email: 'lena@customer.example', crmId: contact, title: 'Buyer' });
    expect(await h.store.merges.winners('marketo', [String(loser)])).toEqual(new Map([[String(loser), String(winner)]]));
    // The CRM keeps one contact for the person, the lead converted into it, nothing ledgered.
    expect(await h.person(winner)).toMatchObject({ type: 'contact', record: { id: contact } });
    expect((await h.crm.getRecords('lead', [lead!]))[0]).toMatchObject({ is_converted: true, converted_contact_id: contact, marketo_lead_id: null });
    expect(await count('contacts', `first_name = 'Lena'`)).toBe(1);
    expect(await h.store.errors.list({ status: 'open' })).toEqual([]);
  });

  it('a CRM conversion under an existing account links the same Marketo person to that company and creates none (seed: "Converting a Lead to a Contact in an Existing Company")', async () => {
    const [account] = await h.insert('account', [{ name: 'Initech' }]);
    const [lead] = await h.insert('lead', [{ email: 'peter@initech.example', first_name: 'Peter', company: 'Initech' }]);
    await h.fullCycle();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'lead', [lead!])).get(lead!)!.marketoId);
    const companiesBefore = [...h.emulator.subscription.iterateObjects('Company')].length;

    const converted = await h.user.convertLead({ leadId: lead!, accountId: account! });
    expect(converted).toMatchObject({ accountId: account, createdAccount: false, createdContact: true });
    await h.fullCycle();
    await h.fullCycle();
    const persons = await h.marketo.leads.getByFilter({ filterType: 'email', filterValues: ['peter@initech.example'], fields: ['id', 'crmId', 'externalCompanyId'] });
    expect(persons.items).toEqual([expect.objectContaining({ id: marketoId, crmId: converted.contactId, externalCompanyId: account })]);
    expect([...h.emulator.subscription.iterateObjects('Company')].length).toBe(companiesBefore);
    expect(await h.person(marketoId)).toMatchObject({ type: 'contact', record: { id: converted.contactId, account_id: account } });
    expect(await count('accounts', `name = 'Initech'`)).toBe(1);
    expect(await h.store.errors.list({ status: 'open' })).toEqual([]);
  });
});
