import { startPullHarness, type PullHarness } from './support.js';

/** Seed steps 5 and 7: Marketo merges and deletes reach the CRM by the delete policy. */
describe('pull steps 5 and 7: merges and deletes (honour)', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('merges the CRM leads Marketo merged, keeps the losing → winning ids, and reads the winner again', async () => {
    const winner = h.createLead({ email: 'win@else.example', firstName: 'Wanda' });
    const loser = h.createLead({ email: 'lose@else.example', lastName: 'Loser', title: 'Analyst' });
    await h.cycle();
    const loserCrm = (await h.person(loser))!.record.id as string;
    const winnerCrm = (await h.person(winner))!.record.id as string;

    h.emulator.subscription.mergeLeads(winner, [loser], 'Web client');
    const [step4, step5] = await h.cycle();
    expect(step4).toMatchObject({ written: 1 });
    expect(step5).toMatchObject({ step: 'pullMergesAndDeletes', read: 1, written: 1, skipped: 0 });
    // Marketo's winner took the loser's values where it had none; the CRM winner holds them too.
    expect((await h.person(winner))?.record).toMatchObject({ id: winnerCrm, first_name: 'Wanda', last_name: 'Loser', title: 'Analyst' });
    expect(await h.crm.getRecords('lead', [loserCrm])).toEqual([]);
    expect((await h.store.merges.winners('marketo', [String(loser)])).get(String(loser))).toBe(String(winner));
    expect((await h.store.idMap.byMarketoIds('lead', [String(loser)])).size).toBe(0);
    // The CRM's merge tombstone names the winner, and is the sync's own write (no echo to Marketo).
    const tomb = await h.store.pool.query(`SELECT merged_into, origin FROM crm.tombstones WHERE record_id = $1`, [loserCrm]);
    expect(tomb.rows[0]).toMatchObject({ merged_into: winnerCrm, origin: 'sync' });
  });

  it('moves the children of a merged contact to the winning contact', async () => {
    const [account] = await h.insert('account', [{ name: 'Acme' }]);
    const [keep, gone] = await h.insert('contact', [{ email: 'keep@acme.example', account_id: account! }, { email: 'gone@acme.example', account_id: account! }]);
    const [opp] = await h.insert('opportunity', [{ name: 'Big deal', account_id: account! }]);
    const [role] = await h.insert('opportunityRole', [{ opportunity_id: opp!, contact_id: gone!, role: 'Champion' }]);
    await h.push.pushCompanies();
    await h.push.pushLeads();
    await h.cycle();
    const ids = await h.store.idMap.byCrmIds('lead', 'contact', [keep!, gone!]);
    h.emulator.subscription.mergeLeads(Number(ids.get(keep!)!.marketoId), [Number(ids.get(gone!)!.marketoId)], 'Web client');
    await h.cycle();
    expect(await h.crm.getRecords('contact', [gone!])).toEqual([]);
    expect((await h.crm.getRecords('opportunityRole', [role!]))[0]).toMatchObject({ contact_id: keep });
  });

  it('converts a CRM lead merged into a contact into that contact', async () => {
    const [account] = await h.insert('account', [{ name: 'Initech' }]);
    const [contact] = await h.insert('contact', [{ email: 'peter@initech.example', account_id: account! }]);
    await h.push.pushCompanies();
    await h.push.pushLeads();
    const leadId = h.createLead({ email: 'peter.gibbons@else.example', firstName: 'Peter', phone: '555-0100' });
    await h.cycle();
    const crmLead = (await h.person(leadId))!.record.id as string;
    const contactMarketo = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);

    h.emulator.subscription.mergeLeads(contactMarketo, [leadId], 'Web client');
    await h.cycle();
    const [lead] = await h.crm.getRecords('lead', [crmLead]);
    expect(lead).toMatchObject({ is_converted: true, converted_contact_id: contact, marketo_lead_id: null });
    expect((await h.person(contactMarketo))?.record).toMatchObject({ id: contact, first_name: 'Peter', phone: '555-0100' });
  });

  it('deletes the CRM person of a lead deleted in Marketo (step 5 records it, step 7 applies it)', async () => {
    const id = h.createLead({ email: 'bye@else.example' });
    await h.cycle();
    const crmId = (await h.person(id))!.record.id as string;
    h.emulator.subscription.deleteLeads([id], 'Web client');
    const step5 = await h.pull.pullMergesAndDeletes();
    expect(step5).toMatchObject({ read: 1 });
    // Recorded, not yet applied: the seed deletes in step 7.
    expect(await h.crm.getRecords('lead', [crmId])).toHaveLength(1);
    await h.pull.pullActivities();
    expect(await h.pull.deleteLeadsInCrm()).toMatchObject({ step: 'deleteLeadsInCrm', read: 1, written: 1, skipped: 0 });
    expect(await h.crm.getRecords('lead', [crmId])).toEqual([]);
    expect((await h.store.idMap.byMarketoIds('lead', [String(id)])).size).toBe(0);
    // Nothing left pending: the next run has nothing to do.
    expect(await h.pull.deleteLeadsInCrm()).toMatchObject({ read: 0, written: 0 });
  });
});

describe('pull steps 5 and 7 with the flag policy', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness({ deletePolicy: 'flag' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps the CRM record of a deleted lead and clears its Marketo id', async () => {
    const id = h.createLead({ email: 'flagged@else.example', firstName: 'Flo' });
    await h.cycle();
    const crmId = (await h.person(id))!.record.id as string;
    h.emulator.subscription.deleteLeads([id], 'Web client');
    const [, step5, , step7] = await h.cycle();
    expect(step5).toMatchObject({ read: 1 });
    expect(step7).toMatchObject({ read: 1, written: 1 });
    expect((await h.crm.getRecords('lead', [crmId]))[0]).toMatchObject({ first_name: 'Flo', marketo_lead_id: null });
    expect((await h.store.idMap.byMarketoIds('lead', [String(id)])).size).toBe(0);
  });

  it('flags the loser of a merge instead of merging it', async () => {
    const winner = h.createLead({ email: 'fw@else.example' });
    const loser = h.createLead({ email: 'fl@else.example', firstName: 'Lou' });
    await h.cycle();
    const loserCrm = (await h.person(loser))!.record.id as string;
    h.emulator.subscription.mergeLeads(winner, [loser], 'Web client');
    await h.cycle();
    expect((await h.crm.getRecords('lead', [loserCrm]))[0]).toMatchObject({ first_name: 'Lou', marketo_lead_id: null });
    expect((await h.store.merges.winners('marketo', [String(loser)])).get(String(loser))).toBe(String(winner));
  });
});
