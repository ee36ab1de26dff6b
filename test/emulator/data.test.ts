import type { RunningEmulator } from '../../emulator/index.js';
import { Subscription } from '../../emulator/index.js';
import { seedSubscription } from '../../emulator/seed.js';
import { call, errorCode, start, token, type Envelope } from './helpers.js';

async function admin(em: RunningEmulator, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${em.url}/_emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
  const out = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(JSON.stringify(out));
  return out;
}

async function allActivities(em: RunningEmulator, t: string, query: string, path = '/rest/v1/activities.json'): Promise<Record<string, unknown>[]> {
  const pt = await call(em, '/rest/v1/activities/pagingtoken.json?sinceDatetime=2000-01-01T00:00:00Z', { token: t });
  let next = pt.body.nextPageToken as string;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 100; i++) {
    const page: Envelope = (await call(em, `${path}?${query}&batchSize=2&nextPageToken=${encodeURIComponent(next)}`, { token: t })).body;
    expect(page.success).toBe(true);
    out.push(...(page.result ?? []));
    next = page.nextPageToken as string;
    if (!page.moreResult) break;
  }
  return out;
}

describe('emulator data semantics over REST', () => {
  let em: RunningEmulator;
  let t: string;
  beforeAll(async () => {
    em = await start();
    t = await token(em);
  });
  afterAll(async () => em.close());

  it('sync leads: created, updated, per-record reasons 1003/1004/1005/1006/1007', async () => {
    const first = await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'ann@example.com', firstName: 'Ann', leadScore: 5 }] } });
    const annId = first.body.result?.[0]?.id as number;
    expect(first.body.result).toEqual([{ id: annId, status: 'created' }]);
    const r = await call(em, '/rest/v1/leads.json', {
      token: t,
      json: { action: 'createOrUpdate', input: [{ email: 'ann@example.com', firstName: 'Annie' }, { email: 'x@example.com', leadScore: 'many' }, { email: 'y@example.com', shoeSize: 3 }] },
    });
    expect(r.body.result).toEqual([
      { id: annId, status: 'updated' },
      { status: 'skipped', reasons: [{ code: '1003', message: "Invalid value for field 'leadScore'" }] },
      { status: 'skipped', reasons: [{ code: '1006', message: "Field 'shoeSize' not found" }] },
    ]);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'createOnly', input: [{ email: 'ann@example.com' }] } })).body.result?.[0]?.reasons).toEqual([{ code: '1005', message: 'Lead already exists' }]);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'updateOnly', input: [{ email: 'nobody@example.com' }] } })).body.result?.[0]?.reasons).toEqual([{ code: '1004', message: 'Lead not found' }]);
    await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'createDuplicate', input: [{ email: 'ann@example.com' }] } });
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'ann@example.com', firstName: 'Z' }] } })).body.result?.[0]?.reasons?.[0]?.code).toBe('1007');
    const byId = await call(em, `/rest/v1/lead/${annId}.json?fields=firstName,leadScore,lastName`, { token: t });
    expect(byId.body.result).toEqual([{ id: annId, firstName: 'Annie', leadScore: 5, lastName: null }]);
    expect(errorCode((await call(em, '/rest/v1/leads.json?filterType=firstName&filterValues=Ann', { token: t })).body)).toBe('1011');
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { input: Array.from({ length: 301 }, (_, i) => ({ email: `b${i}@example.com` })) } })).body.errors?.[0]?.code).toBe('1003');
  });

  it('partitions (1008, 1010), lookup fields (1011) and company fields on company-linked leads (1021)', async () => {
    em.subscription.addPartition('Canada');
    const created = await call(em, '/rest/v1/leads.json', { token: t, json: { partitionName: 'Canada', input: [{ email: 'moose@example.com' }] } });
    const id = created.body.result?.[0]?.id as number;
    expect((await call(em, `/rest/v1/lead/${id}.json?fields=leadPartitionId`, { token: t })).body.result?.[0]?.leadPartitionId).toBe(2);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { partitionName: 'Default', input: [{ email: 'moose@example.com', city: 'X' }] } })).body.result?.[0]?.reasons).toEqual([{ code: '1010', message: 'Partition update not allowed' }]);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { partitionName: 'Mars', input: [{ email: 'm@example.com' }] } })).body.errors).toEqual([{ code: '1008', message: "Access denied to partition 'Mars'" }]);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { lookupField: 'firstName', input: [{ firstName: 'A' }] } })).body.errors).toEqual([{ code: '1011', message: "Lookup field 'firstName' not supported" }]);
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { lookupField: 'id', input: [{ id }] } })).body.errors?.[0]?.code).toBe('1003');
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'updateOnly', lookupField: 'id', input: [{ id, city: 'Toronto' }] } })).body.result).toEqual([{ id, status: 'updated' }]);
    await call(em, '/rest/v1/companies.json', { token: t, json: { input: [{ externalCompanyId: 'CO-1021', company: 'Linked' }] } });
    const linked = await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'linked@example.com', externalCompanyId: 'CO-1021' }] } });
    expect(linked.body.result?.[0]?.status).toBe('created');
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'linked@example.com', company: 'Other' }] } })).body.result?.[0]?.reasons).toEqual([{ code: '1021', message: 'Company update not allowed' }]);
    const linkedId = linked.body.result?.[0]?.id as number;
    expect((await call(em, `/rest/v1/lead/${linkedId}.json?fields=company`, { token: t })).body.result).toEqual([{ id: linkedId, company: 'Linked' }]);
  });

  it('changes log New Lead and Change Data Value with old/new values; lead changes and deleted leads page', async () => {
    const created = await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'cdv@example.com', title: 'Engineer' }] } });
    const id = created.body.result?.[0]?.id as number;
    await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'cdv@example.com', title: 'CTO' }] } });
    await admin(em, 'user/leads/edit', { id, changes: { title: 'CEO' } });
    const acts = await allActivities(em, t, `activityTypeIds=12,13&leadIds=${id}`);
    expect(acts.map((a) => a.activityTypeId)).toEqual([12, 13, 13]);
    expect(acts[1]).toMatchObject({ leadId: id, primaryAttributeValue: 'Job Title', attributes: expect.arrayContaining([{ name: 'New Value', value: 'CTO' }, { name: 'Old Value', value: 'Engineer' }]) });
    expect(acts[2]?.attributes).toEqual(expect.arrayContaining([{ name: 'Source', value: 'Web client' }]));
    expect(acts[0]?.activityDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const changes = await allActivities(em, t, `fields=title&leadIds=${id}`, '/rest/v1/activities/leadchanges.json');
    expect(changes.filter((c) => c.activityTypeId === 13).map((c) => (c.fields as { name: string; newValue: unknown }[])[0])).toEqual([
      expect.objectContaining({ name: 'title', newValue: 'CTO', oldValue: 'Engineer' }), expect.objectContaining({ name: 'title', newValue: 'CEO', oldValue: 'CTO' }),
    ]);
    expect((await call(em, '/rest/v1/leads/delete.json', { token: t, json: { input: [{ id }, { id: 999999 }] } })).body.result).toEqual([
      { id, status: 'deleted' }, { id: 999999, status: 'skipped', reasons: [{ code: '1004', message: 'Lead not found' }] },
    ]);
    const more = await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'createDuplicate', input: [{ email: 'q1@example.com' }, { email: 'q2@example.com' }] } });
    const [q1, q2] = (more.body.result ?? []).map((x) => x.id as number);
    expect((await call(em, `/rest/v1/leads/delete.json?id=${q1},${q2}`, { method: 'POST', token: t })).body.result).toEqual([{ id: q1, status: 'deleted' }, { id: q2, status: 'deleted' }]);
    const deleted = await allActivities(em, t, 'x=1', '/rest/v1/activities/deletedleads.json');
    expect(deleted.some((d) => d.leadId === id && d.activityTypeId === 37)).toBe(true);
  });

  it('merge keeps the winner, fills its empty fields, moves activities and logs Merge Leads', async () => {
    const r = await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'createDuplicate', input: [{ email: 'w@example.com' }, { email: 'l@example.com', city: 'Paris' }] } });
    const [w, l] = (r.body.result ?? []).map((x) => x.id as number);
    expect((await call(em, `/rest/v1/leads/${w}/merge.json?leadId=${l}`, { method: 'POST', token: t })).body).toEqual({ requestId: expect.any(String), success: true });
    expect((await call(em, `/rest/v1/lead/${l}.json`, { token: t })).body.result).toEqual([]);
    expect((await call(em, `/rest/v1/lead/${w}.json?fields=city`, { token: t })).body.result?.[0]?.city).toBe('Paris');
    const acts = await allActivities(em, t, `activityTypeIds=12,32&leadIds=${w}`);
    expect(acts.map((a) => a.activityTypeId)).toEqual([12, 12, 32]);
  });

  it('describe reflects schema changes at once', async () => {
    await admin(em, 'schema/fields', { object: 'lead', field: { name: 'crmScore', displayName: 'CRM Score', dataType: 'integer' } });
    const d2 = (await call(em, '/rest/v1/leads/describe2.json', { token: t })).body.result?.[0] as { fields: { name: string }[]; searchableFields: string[][] };
    expect(d2.fields.map((f) => f.name)).toContain('crmScore');
    expect(d2.searchableFields).toContainEqual(['crmScore']);
    await admin(em, 'schema/fields/hide', { object: 'lead', name: 'fax' });
    const d1 = (await call(em, '/rest/v1/leads/describe.json', { token: t })).body.result as { rest: { name: string } }[];
    expect(d1.map((f) => f.rest.name)).not.toContain('fax');
    expect((await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'fax@example.com', fax: '1' }] } })).body.result?.[0]?.reasons?.[0]?.code).toBe('1006');
    const created = await call(em, '/rest/v1/leads/schema/fields.json', { token: t, json: { input: [{ name: 'apiMade', displayName: 'API Made', dataType: 'integer' }, { name: 'email', displayName: 'Email 2', dataType: 'email' }] } });
    expect(created.body.result).toEqual([{ name: 'apiMade', status: 'created' }, { name: 'email', status: 'skipped', reasons: [{ code: '1017', message: 'Object already exists' }] }]);
    expect(((await call(em, '/rest/v1/leads/describe2.json', { token: t })).body.result?.[0] as { fields: { name: string }[] }).fields.map((f) => f.name)).toContain('apiMade');
    expect((await call(em, '/rest/v1/leads/schema/fields/apiMade.json', { token: t })).body.result).toEqual([expect.objectContaining({ name: 'apiMade', isCustom: true, isHidden: false })]);
    await call(em, '/rest/v1/leads/schema/fields/apiMade.json', { token: t, json: { input: { isHidden: true } } });
    expect(((await call(em, '/rest/v1/leads/describe2.json', { token: t })).body.result?.[0] as { fields: { name: string }[] }).fields.map((f) => f.name)).not.toContain('apiMade');
    await admin(em, 'schema/fields', { object: 'opportunity', field: { name: 'region', displayName: 'Region', dataType: 'string' } });
    await admin(em, 'schema/fields/hide', { object: 'Company', name: 'website' });
    const opp = (await call(em, '/rest/v1/opportunities/describe.json', { token: t })).body.result?.[0] as { fields: { name: string }[]; searchableFields: string[][] };
    expect(opp.fields.map((f) => f.name)).toContain('region');
    expect(opp.searchableFields).toContainEqual(['region']);
    const company = (await call(em, '/rest/v1/companies/describe.json', { token: t })).body.result?.[0] as { fields: { name: string }[] };
    expect(company.fields.map((f) => f.name)).not.toContain('website');
  });

  it('companies, opportunities, roles: seq, 1036, 718, compound-key JSON query, Add to Opportunity', async () => {
    const c = await call(em, '/rest/v1/companies.json', { token: t, json: { input: [{ externalCompanyId: 'C1', company: 'Acme' }, { externalCompanyId: 'C1', company: 'Dup' }] } });
    expect(c.body.result).toEqual([{ seq: 0, status: 'created', id: expect.any(Number) }, { seq: 1, status: 'skipped', reasons: [{ code: '1036', message: 'Duplicate object found in input' }] }]);
    const q = await call(em, '/rest/v1/companies.json?filterType=externalCompanyId&filterValues=C1,C9&fields=company', { token: t });
    expect(q.body.result).toEqual([{ seq: 0, id: c.body.result?.[0]?.id, company: 'Acme' }]);
    const o = await call(em, '/rest/v1/opportunities.json', { token: t, json: { input: [{ externalOpportunityId: 'O1', name: 'Deal' }, { externalOpportunityId: 'O2', name: 'X', externalSalesPersonId: 'nobody' }] } });
    expect(o.body.result?.[0]).toEqual({ seq: 0, status: 'created', marketoGUID: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(o.body.result?.[1]?.reasons).toEqual([{ code: '718', message: 'ExternalSalesPersonID not found' }]);
    const lead = (await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'buyer@example.com' }] } })).body.result?.[0]?.id as number;
    const role = await call(em, '/rest/v1/opportunities/roles.json', { token: t, json: { input: [{ externalOpportunityId: 'O1', leadId: lead, role: 'Buyer', isPrimary: true }] } });
    expect(role.body.result?.[0]?.status).toBe('created');
    const lookup = await call(em, '/rest/v1/opportunities/roles.json?_method=GET', { token: t, json: { filterType: 'dedupeFields', fields: ['marketoGUID', 'role', 'isPrimary'], input: [{ externalOpportunityId: 'O1', leadId: lead, role: 'Buyer' }] } });
    expect(lookup.body.result).toEqual([{ seq: 0, marketoGUID: role.body.result?.[0]?.marketoGUID, role: 'Buyer', isPrimary: true }]);
    const acts = await allActivities(em, t, `activityTypeIds=34&leadIds=${lead}`);
    expect(acts).toEqual([expect.objectContaining({ activityTypeId: 34, primaryAttributeValue: 'Deal', attributes: expect.arrayContaining([{ name: 'Role', value: 'Buyer' }]) })]);
    const del = await call(em, '/rest/v1/companies/delete.json', { token: t, json: { deleteBy: 'dedupeFields', input: [{ externalCompanyId: 'C1' }, { externalCompanyId: 'C1' }] } });
    expect(del.body.result).toEqual([{ seq: 0, status: 'deleted', id: expect.any(Number) }, { seq: 1, status: 'skipped', reasons: [{ code: '1013', message: 'Record not found' }] }]);
  });

  it('custom objects: type list, describe, sync with lead link → "Add to" activity', async () => {
    await admin(em, 'schema/customobjects', {
      name: 'car_c', displayName: 'Car', dedupeFields: ['vin'], leadLink: { field: 'leadId' },
      fields: [{ name: 'vin', displayName: 'VIN', dataType: 'string' }, { name: 'leadId', displayName: 'Lead', dataType: 'integer' }],
    });
    const types = await call(em, '/rest/v1/customobjects.json?names=car_c', { token: t });
    expect(types.body.result?.[0]).toMatchObject({ name: 'car_c', idField: 'marketoGUID', dedupeFields: ['vin'], relationships: [{ field: 'leadId', type: 'parent', relatedTo: { name: 'Lead', field: 'id' } }] });
    const lead = (await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'driver@example.com' }] } })).body.result?.[0]?.id as number;
    const s = await call(em, '/rest/v1/customobjects/car_c.json', { token: t, json: { input: [{ vin: 'V1', leadId: lead }, { vin: 'V2', leadId: 987654 }] } });
    expect(s.body.result?.[0]?.status).toBe('created');
    expect(s.body.result?.[1]?.reasons?.[0]?.code).toBe('1004');
    const typeId = ((await call(em, '/rest/v1/activities/types.json', { token: t })).body.result ?? []).find((x) => x.name === 'Add to Car')?.id;
    const acts = await allActivities(em, t, `activityTypeIds=${String(typeId)}&leadIds=${lead}`);
    expect(acts).toEqual([expect.objectContaining({ primaryAttributeValue: 'V1' })]);
    expect(errorCode((await call(em, '/rest/v1/customobjects/nope_c.json?filterType=vin&filterValues=1', { token: t })).body)).toBe('1013');
  });

  it('lists and programs: add/remove/ismember, leads by list and by program, asset browse', async () => {
    const list = await admin(em, 'user/lists', { name: 'VIPs' });
    const ids = ((await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'createDuplicate', input: [{ email: 'v1@example.com' }, { email: 'v2@example.com' }, { email: 'v3@example.com' }] } })).body.result ?? []).map((x) => x.id as number);
    const add = await call(em, `/rest/v1/lists/${String(list.id)}/leads.json`, { token: t, json: { input: ids.map((id) => ({ id })) } });
    expect(add.body.result?.map((x) => x.status)).toEqual(['added', 'added', 'added']);
    const page1 = await call(em, `/rest/v1/lists/${String(list.id)}/leads.json?batchSize=2`, { token: t });
    expect(page1.body.result).toHaveLength(2);
    const page2 = await call(em, `/rest/v1/list/${String(list.id)}/leads.json?batchSize=2&nextPageToken=${encodeURIComponent(page1.body.nextPageToken ?? '')}`, { token: t });
    expect(page2.body.result?.map((x) => x.id)).toEqual([ids[2]]);
    expect(page2.body.nextPageToken).toBeUndefined();
    await call(em, `/rest/v1/lists/${String(list.id)}/leads.json?id=${ids[0]}`, { method: 'DELETE', token: t });
    const member = await call(em, `/rest/v1/lists/${String(list.id)}/leads/ismember.json?id=${ids[0]}&id=${ids[1]}`, { token: t });
    expect(member.body.result?.map((x) => x.status)).toEqual(['notmemberof', 'memberof']);
    const program = await admin(em, 'user/programs', { name: 'Webinar' });
    await call(em, `/rest/v1/programs/${String(program.id)}/members/status.json`, { token: t, json: { statusName: 'Registered', input: [{ leadId: ids[1] }] } });
    const members = await call(em, `/rest/v1/leads/programs/${String(program.id)}.json`, { token: t });
    expect(members.body.result?.[0]).toMatchObject({ id: ids[1], membership: { progressionStatus: 'Registered', acquiredBy: expect.any(Boolean), reachedSuccess: false } });
    const browse = await call(em, '/rest/asset/v1/staticLists.json?maxReturn=200', { token: t });
    expect(browse.body).toMatchObject({ success: true, errors: [], warnings: [] });
    expect(browse.body.result?.find((x) => x.name === 'VIPs')?.createdAt).toMatch(/Z\+0000$/);
    const created = await call(em, '/rest/asset/v1/staticLists.json', { token: t, form: { name: 'From API', folder: '{"id":12,"type":"Folder"}' } });
    expect(created.body.result?.[0]).toMatchObject({ name: 'From API', folder: { id: 12, type: 'Folder' } });
    const lists = await call(em, `/rest/v1/leads/${ids[1]}/listMembership.json`, { token: t });
    expect(lists.body.result).toEqual([{ listId: list.id, createdAt: expect.stringMatching(/Z$/), updatedAt: expect.stringMatching(/Z$/) }]);
    const programs = await call(em, `/rest/v1/leads/${ids[1]}/programMembership.json`, { token: t });
    expect(programs.body.result).toEqual([expect.objectContaining({ id: program.id, progressionStatus: 'Registered' })]);
    const pm = await call(em, `/rest/v1/programs/${String(program.id)}/members.json?filterType=leadId&filterValues=${ids[1]}`, { token: t });
    expect(pm.body.result).toEqual([{ seq: 0, acquiredBy: expect.any(Boolean), leadId: ids[1], membershipDate: expect.any(String), programId: program.id, reachedSuccess: false }]);
    const pushed = await call(em, '/rest/v1/leads/push.json', { token: t, json: { programName: 'Webinar', programStatus: 'Attended', source: 'Partner', input: [{ email: 'pushed@example.com' }] } });
    const pushedId = pushed.body.result?.[0]?.id as number;
    expect(pushed.body.result?.[0]?.status).toBe('created');
    const pushActs = await allActivities(em, t, `activityTypeIds=12,145,104&leadIds=${pushedId}`);
    expect(pushActs.map((a) => a.activityTypeId)).toEqual([12, 145, 104]);
    const usage = await call(em, '/rest/v1/stats/usage.json', { token: t });
    expect((usage.body.result?.[0]?.total as number) > 10).toBe(true);
  });
});

describe('seed generator', () => {
  const fingerprint = (s: Subscription): string => {
    const lead = s.getLead(s.leads.maxId);
    const acts = [...s.activitiesBetween(0, 2 ** 31)].slice(-5);
    return JSON.stringify({ lead, acts, objects: [...s.iterateObjects('opportunity')].slice(0, 2), lists: [...s.lists.values()].map((l) => [...l.members].slice(0, 5)) });
  };
  const opts = { seed: 9, leads: 300, programs: 2, lists: 2, from: '2025-01-01T00:00:00Z', to: '2025-06-01T00:00:00Z' };

  it('is deterministic, dates activities in the past range, ids ascend with activityDate', () => {
    const a = new Subscription();
    const summary = seedSubscription(a, opts);
    const b = new Subscription();
    seedSubscription(b, opts);
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(summary.leads).toBe(300);
    const acts = [...a.activitiesBetween(0, 2 ** 31)];
    expect(acts.length).toBe(summary.activities);
    for (let i = 1; i < acts.length; i++) expect((acts[i] as { id: number }).id).toBeGreaterThan((acts[i - 1] as { id: number }).id);
    expect(acts.every((x) => x.date >= Date.parse(opts.from) / 1000 && x.date <= Date.parse(opts.to) / 1000)).toBe(true);
    const types = new Set(acts.map((x) => x.activityTypeId));
    for (const id of [12, 13, 24, 34, 104]) expect(types.has(id)).toBe(true);
    expect(seedSubscription(new Subscription(), { ...opts, seed: 10 })).toBeDefined();
  });
});

describe('scaled-down query limits', () => {
  it('1003 when a filter matches more leads than allowed, or has too many values', async () => {
    const em = await start({ limits: { maxFilterMatches: 2, maxFilterValues: 3 }, seed: { leads: 5, programs: 0, lists: 0 } });
    try {
      const t = await token(em);
      expect((await call(em, '/rest/v1/leads.json?filterType=id&filterValues=1,2', { token: t })).body.result).toHaveLength(2);
      expect((await call(em, '/rest/v1/leads.json?filterType=id&filterValues=1,2,3', { token: t })).body.errors).toEqual([{ code: '1003', message: 'Too many results match the filter' }]);
      expect(errorCode((await call(em, '/rest/v1/leads.json?filterType=id&filterValues=1,2,3,4', { token: t })).body)).toBe('1003');
      expect((await call(em, '/rest/v1/leads.json?filterType=leadPartitionId&filterValues=2', { token: t })).body.result).toEqual([]);
    } finally {
      await em.close();
    }
  });
});

describe('object keys after an update by idField', () => {
  it('finds a custom object by its new dedupe value', () => {
    const sub = new Subscription();
    sub.addCustomObjectType({ name: 'car_c', displayName: 'Car', dedupeFields: ['vin'], fields: [{ name: 'vin', displayName: 'VIN', dataType: 'string' }] });
    const [created] = sub.syncObjects('car_c', [{ vin: 'OLD' }]);
    const guid = created?.marketoGUID as string;
    expect(sub.syncObjects('car_c', [{ marketoGUID: guid, vin: 'NEW' }], { action: 'updateOnly', dedupeBy: 'idField' })).toEqual([{ seq: 0, status: 'updated', marketoGUID: guid }]);
    expect(sub.findObjectByKey('car_c', 'dedupeFields', { vin: 'NEW' })?.marketoGUID).toBe(guid);
    expect(sub.findObjectByKey('car_c', 'dedupeFields', { vin: 'OLD' })).toBeUndefined();
  });
});
