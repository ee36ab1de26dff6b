import { collectItems, type MarketoClient } from '../../src/marketo/index.js';
import { clientFor, emulatorCalls, startTestEmulator, type RunningEmulator } from './support/emulator.js';

/** Every endpoint of the client against the emulator (real HTTP on 127.0.0.1). */
describe('MarketoClient endpoints against the emulator', () => {
  let emulator: RunningEmulator;
  let client: MarketoClient;

  beforeAll(async () => {
    emulator = await startTestEmulator({
      seed: { leads: 40, companies: 4, salespersons: 2, opportunities: 3, customObjects: 6, programs: 3, lists: 2, membershipRate: 0.5 },
    });
    client = clientFor(emulator);
  });
  afterAll(() => emulator.close());

  describe('describe', () => {
    it('describes leads (legacy and describe2)', async () => {
      const legacy = await client.describe.leads();
      expect(legacy.some((f) => f.rest?.name === 'email')).toBe(true);
      const d2 = await client.describe.leads2();
      expect(d2.searchableFields).toContainEqual(['email']);
      expect(d2.fields.find((f) => f.name === 'email')).toMatchObject({ dataType: 'email', updateable: true });
    });

    it('describes the generic objects with their keys', async () => {
      expect(await client.describe.companies()).toMatchObject({ idField: 'id', dedupeFields: ['externalCompanyId'] });
      expect(await client.describe.opportunities()).toMatchObject({ idField: 'marketoGUID', dedupeFields: ['externalOpportunityId'] });
      expect(await client.describe.opportunityRoles()).toMatchObject({ idField: 'marketoGUID', dedupeFields: ['externalOpportunityId', 'leadId', 'role'] });
      expect(await client.describe.salesPersons()).toMatchObject({ idField: 'id', dedupeFields: ['externalSalesPersonId'] });
      expect((await client.companies.describe()).fields?.some((f) => f.name === 'company')).toBe(true);
    });

    it('lists and describes custom object types', async () => {
      const types = await client.describe.customObjects();
      expect(types.map((t) => t.name)).toContain('purchase_c');
      const only = await client.describe.customObjects(['purchase_c']);
      expect(only).toHaveLength(1);
      const purchase = await client.describe.customObject('purchase_c');
      expect(purchase.idField).toBe('marketoGUID');
      expect(purchase.fields?.length).toBeGreaterThan(0);
    });
  });

  describe('leads', () => {
    const email = (n: number) => `client.test.${n}@example.com`;

    it('creates, skips duplicates with reasons (no throw) and updates, in input order', async () => {
      const created = await client.leads.sync({ action: 'createOnly', input: [{ email: email(1), firstName: 'A' }, { email: email(2), firstName: 'B' }] });
      expect(created.map((o) => [o.seq, o.status])).toEqual([[0, 'created'], [1, 'created']]);
      expect(typeof created[0]!.id).toBe('number');

      const again = await client.leads.sync({ action: 'createOnly', input: [{ email: email(3) }, { email: email(1) }] });
      expect(again[0]).toMatchObject({ seq: 0, status: 'created' });
      expect(again[1]).toMatchObject({ seq: 1, status: 'skipped', reasons: [{ code: '1005' }] });

      const missing = await client.leads.sync({ action: 'updateOnly', input: [{ email: 'nobody@example.com', firstName: 'X' }] });
      expect(missing[0]).toMatchObject({ status: 'skipped', reasons: [{ code: '1004' }] });

      const updated = await client.leads.sync({ action: 'createOrUpdate', lookupField: 'email', partitionName: 'Default', input: [{ email: email(2), firstName: 'Bee' }] });
      expect(updated[0]).toMatchObject({ status: 'updated', id: created[1]!.id });

      const byId = await client.leads.sync({ action: 'updateOnly', lookupField: 'id', input: [{ id: created[0]!.id, lastName: 'Zed' }] });
      expect(byId[0]).toMatchObject({ status: 'updated', id: created[0]!.id });

      const badField = await client.leads.sync({ input: [{ email: email(4), noSuchField: 1 }] });
      expect(badField[0]).toMatchObject({ status: 'skipped', reasons: [{ code: '1006' }] });
    });

    it('reads by id and by filter, with chosen fields', async () => {
      const [created] = await client.leads.sync({ input: [{ email: email(10), firstName: 'Ten', lastName: 'Lead' }] });
      const lead = await client.leads.getById(created!.id!, ['id', 'email', 'firstName']);
      expect(lead).toMatchObject({ id: created!.id, email: email(10), firstName: 'Ten' });
      expect(await client.leads.getById(99_999_999)).toBeUndefined();
      const page = await client.leads.getByFilter({ filterType: 'email', filterValues: [email(10), 'none@example.com'], fields: ['email', 'lastName'] });
      expect(page.items).toEqual([expect.objectContaining({ id: created!.id, email: email(10), lastName: 'Lead' })]);
    });

    it('pages a filter query with nextPageToken', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => i + 1);
      const pages = [];
      for await (const page of client.leads.iterateByFilter({ filterType: 'id', filterValues: ids, batchSize: 7 })) pages.push(page);
      expect(pages.length).toBeGreaterThanOrEqual(6);
      const got = pages.flatMap((p) => p.items.map((l) => l.id));
      expect(new Set(got).size).toBe(got.length);
      expect(got.sort((a, b) => a - b)).toEqual(ids);
    });

    it('tunnels a long filterValues list as POST _method=GET instead of hitting 414', async () => {
      const emails = Array.from({ length: 300 }, (_, i) => `a.rather.long.mailbox.name.number.${i}@a-long-domain-name.example.com`);
      const [created] = await client.leads.sync({ input: [{ email: emails[299] }] });
      const url = `${emulator.url}/rest/v1/leads.json?filterType=email&filterValues=${encodeURIComponent(emails.join(','))}`;
      expect(url.length).toBeGreaterThan(8 * 1024); // a plain GET would be refused with 414
      const page = await client.leads.getByFilter({ filterType: 'email', filterValues: emails });
      expect(page.items.map((l) => l.id)).toEqual([created!.id]);
    });

    it('deletes leads and reports them in deleted-lead activities', async () => {
      const since = new Date(Date.now() - 60_000);
      const made = await client.leads.sync({ input: [{ email: email(20) }, { email: email(21) }] });
      const outcomes = await client.leads.delete(made.map((o) => o.id!));
      expect(outcomes.map((o) => o.status)).toEqual(['deleted', 'deleted']);
      expect(await client.leads.getById(made[0]!.id!)).toBeUndefined();
      const token = await client.activities.pagingToken(since);
      const deleted = await collectItems(client.activities.iterateDeletedLeads({ nextPageToken: token }));
      expect(deleted.map((a) => a.leadId)).toEqual(expect.arrayContaining(made.map((o) => o.id)));
      expect(deleted.every((a) => a.activityTypeId === 37)).toBe(true);
    });

    it('merges leads', async () => {
      const [winner, loser] = await client.leads.sync({ input: [{ email: email(30), firstName: 'Win' }, { email: email(31), lastName: 'Lose' }] });
      const { requestId } = await client.leads.merge(winner!.id!, [loser!.id!]);
      expect(requestId).toMatch(/#/);
      expect(await client.leads.getById(loser!.id!)).toBeUndefined();
      expect(await client.leads.getById(winner!.id!, ['lastName'])).toMatchObject({ lastName: 'Lose' });
    });
  });

  describe('generic objects', () => {
    it('syncs, queries and deletes companies', async () => {
      const synced = await client.companies.sync({ input: [{ externalCompanyId: 'CLIENT-C-1', company: 'Client One' }, { externalCompanyId: 'CLIENT-C-2', company: 'Client Two' }] });
      expect(synced.map((o) => [o.seq, o.status])).toEqual([[0, 'created'], [1, 'created']]);
      const page = await client.companies.get({ filterType: 'externalCompanyId', filterValues: ['CLIENT-C-2', 'CLIENT-C-1'], fields: ['externalCompanyId', 'company'] });
      expect(page.items.map((c) => c.company).sort()).toEqual(['Client One', 'Client Two']);
      const byAlias = await client.companies.get({ filterType: 'dedupeFields', filterValues: ['CLIENT-C-1'] });
      expect(byAlias.items).toHaveLength(1);
      const dup = await client.companies.sync({ input: [{ externalCompanyId: 'CLIENT-C-3' }, { externalCompanyId: 'CLIENT-C-3' }] });
      expect(dup.some((o) => o.status === 'skipped' && o.reasons[0]?.code === '1036')).toBe(true);
      const deleted = await client.companies.delete({ input: [{ externalCompanyId: 'CLIENT-C-1' }, { externalCompanyId: 'NOPE' }] });
      expect(deleted[0]).toMatchObject({ seq: 0, status: 'deleted' });
      expect(deleted[1]).toMatchObject({ seq: 1, status: 'skipped' });
      expect(deleted[1]!.reasons.length).toBe(1);
    });

    it('syncs salespersons, opportunities and roles, and reads roles by compound key', async () => {
      const sp = await client.salesPersons.sync({ input: [{ externalSalesPersonId: 'CLIENT-SP-1', email: 'rep@example.com', firstName: 'Rep' }] });
      expect(sp[0]).toMatchObject({ status: 'created' });
      const opp = await client.opportunities.sync({ input: [{ externalOpportunityId: 'CLIENT-O-1', name: 'Deal', amount: 1000 }] });
      expect(opp[0]).toMatchObject({ status: 'created' });
      expect(typeof opp[0]!.marketoGUID).toBe('string');
      const [lead] = await client.leads.sync({ input: [{ email: 'role.lead@example.com' }] });
      const role = await client.opportunityRoles.sync({ input: [{ externalOpportunityId: 'CLIENT-O-1', leadId: lead!.id, role: 'Decision Maker', isPrimary: true }] });
      expect(role[0]).toMatchObject({ status: 'created' });
      const byKey = await client.opportunityRoles.getByKeys({ input: [{ externalOpportunityId: 'CLIENT-O-1', leadId: lead!.id, role: 'Decision Maker' }] });
      expect(byKey.items).toEqual([expect.objectContaining({ seq: 0, marketoGUID: role[0]!.marketoGUID })]);
      const byGuid = await client.opportunities.get({ filterType: 'idField', filterValues: [opp[0]!.marketoGUID as string] });
      expect(byGuid.items[0]).toMatchObject({ marketoGUID: opp[0]!.marketoGUID });
      const delRole = await client.opportunityRoles.delete({ deleteBy: 'idField', input: [{ marketoGUID: role[0]!.marketoGUID }] });
      expect(delRole[0]).toMatchObject({ status: 'deleted' });
      const delOpp = await client.opportunities.delete({ input: [{ externalOpportunityId: 'CLIENT-O-1' }] });
      expect(delOpp[0]).toMatchObject({ status: 'deleted' });
      const delSp = await client.salesPersons.delete({ input: [{ externalSalesPersonId: 'CLIENT-SP-1' }] });
      expect(delSp[0]).toMatchObject({ status: 'deleted' });
    });

    it('syncs, queries and deletes custom objects with dedupeBy/deleteBy', async () => {
      const purchases = client.customObject('purchase_c');
      expect((await purchases.describe()).dedupeFields).toEqual(['purchaseId']);
      const synced = await purchases.sync({ input: [{ purchaseId: 'CLIENT-P-1', leadId: 1, product: 'Pro', amount: 10 }] });
      expect(synced[0]).toMatchObject({ seq: 0, status: 'created' });
      const guid = synced[0]!.marketoGUID as string;
      const again = await purchases.sync({ action: 'updateOnly', dedupeBy: 'idField', input: [{ marketoGUID: guid, product: 'Enterprise' }] });
      expect(again[0]).toMatchObject({ status: 'updated', marketoGUID: guid });
      const found = await purchases.get({ filterType: 'dedupeFields', filterValues: ['CLIENT-P-1'], fields: ['marketoGUID', 'purchaseId', 'product'] });
      expect(found.items[0]).toMatchObject({ seq: 0, marketoGUID: guid, product: 'Enterprise' });
      const byLead = await collectItems(purchases.iterate({ filterType: 'leadId', filterValues: [1], batchSize: 1 }));
      expect(byLead.map((r) => r.marketoGUID)).toContain(guid);
      const deleted = await purchases.delete({ deleteBy: 'dedupeFields', input: [{ purchaseId: 'CLIENT-P-1' }] });
      expect(deleted[0]).toMatchObject({ status: 'deleted' });
      expect((await purchases.get({ filterType: 'idField', filterValues: [guid] })).items).toEqual([]);
    });
  });

  describe('activities', () => {
    it('lists activity types', async () => {
      const types = await client.activities.types();
      expect(types.find((t) => t.id === 12)?.name).toBe('New Lead');
      expect(types.find((t) => t.id === 13)?.name).toBe('Change Data Value');
    });

    it('pages New Lead activities from a paging token until moreResult is false', async () => {
      const token = await client.activities.pagingToken(new Date('2000-01-01T00:00:00Z'));
      const pages = [];
      for await (const page of client.activities.iterate({ nextPageToken: token, activityTypeIds: [12], batchSize: 10 })) pages.push(page);
      expect(pages.length).toBeGreaterThan(3);
      expect(pages.at(-1)!.moreResult).toBe(false);
      const acts = pages.flatMap((p) => p.items);
      expect(acts.every((a) => a.activityTypeId === 12)).toBe(true);
      expect(new Set(acts.map((a) => a.marketoGUID)).size).toBe(acts.length);
      for (let i = 1; i < acts.length; i++) expect(acts[i]!.activityDate.getTime()).toBeGreaterThanOrEqual(acts[i - 1]!.activityDate.getTime());
      expect(acts.length).toBeGreaterThanOrEqual(40);
    });

    it('filters activities by lead ids', async () => {
      const token = await client.activities.pagingToken(new Date('2000-01-01T00:00:00Z'));
      const acts = await collectItems(client.activities.iterate({ nextPageToken: token, activityTypeIds: [12], leadIds: [1, 2] }));
      expect(acts.map((a) => a.leadId).sort()).toEqual([1, 2]);
    });

    it('reads lead changes with old and new values', async () => {
      const since = new Date(Date.now() - 60_000);
      const [lead] = await client.leads.sync({ input: [{ email: 'changes@example.com', firstName: 'Before' }] });
      await client.leads.sync({ input: [{ email: 'changes@example.com', firstName: 'After' }] });
      const token = await client.activities.pagingToken(since);
      const changes = await collectItems(client.activities.iterateLeadChanges({ nextPageToken: token, fields: ['firstName'], leadIds: [lead!.id!] }));
      const change = changes.find((c) => c.activityTypeId === 13);
      expect(change?.fields).toEqual([expect.objectContaining({ name: 'firstName', oldValue: 'Before', newValue: 'After' })]);
    });

    it('adds custom activities, with skipped outcomes for unknown leads', async () => {
      const type = emulator.subscription.addCustomActivityType({ apiName: 'clientTest_c', name: 'Client Test', primaryAttribute: { apiName: 'thing', name: 'Thing' }, attributes: [{ apiName: 'note', name: 'Note' }] });
      const outcomes = await client.activities.addCustom([
        { leadId: 1, activityDate: new Date(), activityTypeId: type.id, primaryAttributeValue: 'x', attributes: [{ apiName: 'note', value: 'hello' }] },
        { leadId: 99_999_999, activityDate: new Date(), activityTypeId: type.id, primaryAttributeValue: 'y', attributes: [] },
      ]);
      expect(outcomes[0]).toMatchObject({ seq: 0, status: 'added' });
      expect(outcomes[1]).toMatchObject({ seq: 1, status: 'skipped', reasons: [{ code: '1004' }] });
    });
  });

  describe('lists and programs', () => {
    it('reads static lists and their members', async () => {
      const lists = await collectItems(client.lists.iterate({ batchSize: 1 }));
      expect(lists.length).toBeGreaterThanOrEqual(2);
      const list = await client.lists.getById(lists[0]!.id);
      expect(list?.name).toBe(lists[0]!.name);
      expect(list?.createdAt).toBeInstanceOf(Date);
      expect(await client.lists.getById(999_999)).toBeUndefined();
      await expect(client.leads.getByProgramId(999_999)).rejects.toMatchObject({ code: '1013' });
      const members = await collectItems(client.leads.iterateByListId(lists[0]!.id, { batchSize: 3 }));
      expect(members.length).toBe(emulator.subscription.lists.get(lists[0]!.id)!.members.size);
    });

    it('browses programs by offset and by updatedAt window', async () => {
      const pages = [];
      for await (const page of client.programs.iterateBrowse({ maxReturn: 1 })) pages.push(page);
      const programs = pages.flat();
      expect(programs.length).toBe(3);
      expect(new Set(programs.map((p) => p.id)).size).toBe(3);
      const none = await client.programs.browse({ earliestUpdatedAt: new Date('2001-01-01T00:00:00Z'), latestUpdatedAt: new Date('2001-01-02T00:00:00Z') });
      expect(none).toEqual([]);
      const all = await client.programs.browse({ earliestUpdatedAt: new Date('2000-01-01T00:00:00Z'), latestUpdatedAt: new Date(Date.now() + 86_400_000) });
      expect(all).toHaveLength(3);
      const one = await client.programs.getById(programs[0]!.id);
      expect(one?.name).toBe(programs[0]!.name);
    });

    it('reads leads by program id with membership', async () => {
      const [program] = await client.programs.browse({ maxReturn: 1 });
      const members = await collectItems(client.leads.iterateByProgramId(program!.id, { batchSize: 5 }));
      expect(members.length).toBeGreaterThan(0);
      expect(members[0]!.membership).toEqual(expect.objectContaining({ progressionStatus: expect.any(String), acquiredBy: expect.any(Boolean), reachedSuccess: expect.any(Boolean) }));
    });
  });

  describe('usage', () => {
    it('reads Marketo usage stats and they agree with the local count', async () => {
      const [today] = await client.stats.today();
      expect(today!.total).toBeGreaterThan(0);
      const week = await client.stats.last7Days();
      expect(week.length).toBeGreaterThanOrEqual(1);
      await client.stats.errorsToday();
      await client.stats.errorsLast7Days();
      const calls = await emulatorCalls(emulator);
      const counted = Object.values(calls.endpoints).reduce((n, e) => n + e.counted, 0);
      expect(client.usage().dailyCalls).toBe(counted);
    });
  });
});
