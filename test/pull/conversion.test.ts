import { startPullHarness, type PullHarness } from './support.js';

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
});
