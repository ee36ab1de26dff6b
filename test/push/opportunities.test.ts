import { startPushHarness, type PushHarness } from './support.js';
import { loadPushContext } from '../../src/sync/push/context.js';
import type { MarketoObject } from '../../src/marketo/index.js';

/** Seed steps 8–9: opportunities (Amount, Closed/Won → stage, expected revenue) and roles (compound key, isPrimary). */
describe('push: opportunities and roles', () => {
  let h: PushHarness;
  let owner: string;
  let account: string;
  let c1: string;
  let c2: string;
  beforeAll(async () => {
    h = await startPushHarness();
    // No mapping saved yet: the context holds the suggested one, built from every Describe.
    const mapping = (await loadPushContext({ marketo: h.marketo, store: h.store, crm: h.crm })).context.config;
    const opp = mapping.entities.find((e) => e.marketo === 'opportunity')!;
    // Marketo keeps probability as an integer percent, the CRM as a decimal percent: still suggested, both ways.
    expect(opp.fields).toContainEqual(expect.objectContaining({ marketo: 'probability', crm: 'probability', direction: 'both', enabled: true }));
    expect(opp.derived).toContainEqual(expect.objectContaining({ marketo: 'expectedRevenue', rule: 'expectedRevenue' }));
    opp.derived = [
      { marketo: 'expectedRevenue', rule: 'expectedRevenue', enabled: true },
      { marketo: 'stage', rule: 'stageFromClosedWon', enabled: true },
    ];
    await h.store.mappings.save(mapping);
    [owner] = (await h.user.insert('user', [{ email: 'rep@corp.example', last_name: 'Rep' }])) as [string];
    [account] = (await h.user.insert('account', [{ name: 'Initech' }])) as [string];
    [c1, c2] = (await h.user.insert('contact', [
      { email: 'peter@initech.example', account_id: account },
      { email: 'milton@initech.example', account_id: account },
    ])) as [string, string];
    await h.activities.pushSalesPersons();
    await h.activities.pushCompanies();
    await h.activities.pushLeads();
  });
  afterAll(async () => {
    await h.close();
  });

  async function opportunities(ids: string[]): Promise<Map<string, MarketoObject>> {
    const page = await h.marketo.opportunities.get({
      filterType: 'externalOpportunityId',
      filterValues: ids,
      fields: ['externalOpportunityId', 'name', 'amount', 'expectedRevenue', 'probability', 'isClosed', 'isWon', 'stage', 'externalCompanyId', 'externalSalesPersonId'],
    });
    return new Map(page.items.map((o) => [String(o.externalOpportunityId), o]));
  }

  async function roles(opportunityId: string): Promise<MarketoObject[]> {
    const page = await h.marketo.opportunityRoles.get({ filterType: 'externalOpportunityId', filterValues: [opportunityId], fields: ['marketoGUID', 'leadId', 'role', 'isPrimary', 'externalCreatedDate'] });
    return page.items.sort((a, b) => String(a.role).localeCompare(String(b.role)));
  }

  it('writes amount, probability, expected revenue and the stage derived from Closed/Won; ledgers a rejected owner', async () => {
    // A rep the mapping refuses (no valid email) never reaches Marketo, so Marketo refuses opportunities owned by them.
    const [badRep] = await h.user.insert('user', [{ email: 'nobody@nodot', last_name: 'Ghost' }]);
    expect(await h.activities.pushSalesPersons()).toMatchObject({ written: 0, skipped: 1 });
    const [open, won, lost, orphan] = await h.user.insert('opportunity', [
      { name: 'Open deal', account_id: account, amount: '1000.00', probability: '40', stage: 'Negotiation', owner_id: owner },
      { name: 'Won deal', account_id: account, amount: '500.00', probability: '100', is_closed: true, is_won: true, stage: 'Contract' },
      { name: 'Lost deal', amount: '10.00', probability: '0', is_closed: true, is_won: false, stage: 'Contract' },
      { name: 'Ghost deal', amount: '1.00', owner_id: badRep! },
    ]);
    const r = await h.activities.pushOpportunities();
    expect(r).toMatchObject({ written: 3, skipped: 1 });

    const got = await opportunities([open!, won!, lost!, orphan!]);
    expect(got.get(open!)).toMatchObject({ name: 'Open deal', amount: 1000, probability: 40, expectedRevenue: 400, isClosed: false, isWon: false, stage: 'Negotiation', externalCompanyId: account, externalSalesPersonId: owner });
    expect(got.get(won!)).toMatchObject({ amount: 500, expectedRevenue: 500, isClosed: true, isWon: true, stage: 'Closed Won' });
    expect(got.get(lost!)).toMatchObject({ isClosed: true, isWon: false, stage: 'Closed Lost', expectedRevenue: 0 });
    expect(got.has(orphan!)).toBe(false);
    const ledger = await h.store.errors.list({ entity: 'opportunity' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[orphan, '718']]);
    expect((await h.store.idMap.byCrmIds('opportunity', 'opportunity', [open!])).get(open!)?.marketoId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes roles under the compound key with the contact’s Marketo lead id and isPrimary; re-keys a changed role', async () => {
    const [opp] = await h.user.insert('opportunity', [{ name: 'Roles deal', account_id: account, amount: '20.00' }]);
    await h.activities.pushOpportunities();
    // A contact the sync never pushed (written by the sync itself) has no Marketo lead yet.
    const [stranger] = await h.crm.upsert('contact', [{ email: 'stranger@initech.example' }], { keyField: 'id' });
    if (stranger?.status !== 'created') throw new Error('fixture contact not created');
    const [, influencer, unknown] = await h.user.insert('opportunityRole', [
      { opportunity_id: opp!, contact_id: c1, role: 'Decision Maker', is_primary: true },
      { opportunity_id: opp!, contact_id: c2, role: 'Influencer' },
      { opportunity_id: opp!, contact_id: stranger.id, role: 'Other' },
    ]);
    const r = await h.activities.pushOpportunityRoles();
    expect(r).toMatchObject({ written: 2, skipped: 1 });
    const leadIds = await h.store.idMap.byCrmIds('lead', 'contact', [c1, c2]);
    const got = await roles(opp!);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ role: 'Decision Maker', leadId: Number(leadIds.get(c1)!.marketoId), isPrimary: true });
    expect(got[1]).toMatchObject({ role: 'Influencer', leadId: Number(leadIds.get(c2)!.marketoId), isPrimary: false });
    expect(typeof got[0]!.externalCreatedDate).toBe('string');
    const ledger = await h.store.errors.list({ entity: 'opportunityRole' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[unknown, 'MAPPING']]);
    expect(ledger[0]!.reason).toMatch(/not yet in Marketo/);

    await h.user.update('opportunityRole', [{ id: influencer!, role: 'Champion' }]);
    expect(await h.activities.pushOpportunityRoles()).toMatchObject({ written: 1 });
    expect((await roles(opp!)).map((x) => x.role)).toEqual(['Champion', 'Decision Maker']);
  });
});
