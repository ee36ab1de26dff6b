import { removeAbsentProgramMembers, loadPrograms } from '../../activities/marketing-programs.js';
import { loadListMembers, loadStaticLists, type MarketingDeps } from '../../activities/marketing-static-lists.js';
import { startMarketingServices, type MarketingHarness } from './support.js';

// Membership is a snapshot: a full load removes the CRM members Marketo no longer lists, and only
// a full one (a load that resumed mid-list, or a program whose members could not all be read,
// deletes nothing). Real HTTP to the emulator, real Postgres, no Temporal.
let h: Omit<MarketingHarness, 'taskQueue'>;
let deps: MarketingDeps;

beforeAll(async () => {
  h = await startMarketingServices({ seed: { leads: 700, programs: 0, lists: 1, customObjects: 0, membershipRate: 1 } });
  deps = { marketo: h.marketo, store: h.store, crm: h.crm };
});

afterAll(async () => {
  await h?.close();
});

const keys = async (table: string, where = 'true') => (await h.crm.pool.query<{ k: string }>(`SELECT marketo_key k FROM crm.${table} WHERE ${where} ORDER BY 1`)).rows.map((r) => r.k);

test('static list: members who left are removed by a complete load, never by one resumed mid-list', async () => {
  const sub = h.emulator.subscription;
  const listId = (await loadStaticLists(deps)).ids[0]!;
  const members = () => [...sub.lists.get(listId)!.members].map((id) => `${listId}:${id}`).sort();
  expect(await loadListMembers(deps, listId)).toMatchObject({ removed: 0 });
  expect(await keys('list_members')).toEqual(members());
  expect(members().length).toBeGreaterThan(300);

  // Two members leave the list in Marketo (one from the first page, one from the last).
  const ids = [...sub.lists.get(listId)!.members].sort((a, b) => a - b);
  const gone = [ids[0]!, ids.at(-1)!];
  sub.removeFromList(listId, gone);

  // An attempt that stops after its first page deletes nothing; its resumed attempt did not see
  // the first page, so it cannot tell who left: still nothing deleted.
  const heartbeats: unknown[] = [];
  await expect(loadListMembers(deps, listId, undefined, (p) => {
    heartbeats.push(p);
    throw new Error('worker killed');
  })).rejects.toThrow('worker killed');
  const resumed = await loadListMembers(deps, listId, heartbeats[0]);
  expect(resumed.removed).toBeUndefined();
  expect(await keys('list_members')).toEqual([...members(), ...gone.map((id) => `${listId}:${id}`)].sort());

  // The next complete load removes exactly the two, as tombstones the sync can see.
  expect(await loadListMembers(deps, listId)).toMatchObject({ removed: 2, failed: 0 });
  expect(await keys('list_members')).toEqual(members());
  const tombstones = await h.crm.pool.query<{ n: string }>("SELECT count(*) n FROM crm.tombstones WHERE entity = 'listMember'");
  expect(Number(tombstones.rows[0]!.n)).toBe(2);
});

test('program: members Marketo no longer lists are removed for the programs pruned, other programs untouched', async () => {
  const sub = h.emulator.subscription;
  const a = sub.createProgram({ name: 'Webinar A' });
  const b = sub.createProgram({ name: 'Webinar B' });
  const leadIds = [...sub.lists.values()][0]!.members;
  const some = [...leadIds].slice(0, 5);
  for (const id of some) {
    sub.setProgramStatus(a.id, id, 'Registered');
    sub.setProgramStatus(b.id, id, 'Invited');
  }
  await loadPrograms(deps);
  const campaigns = await h.store.idMap.byMarketoIds('program', [String(a.id), String(b.id)]);
  // The CRM as a membership export left it: every member of both programs.
  const rows = [a, b].flatMap((p) => some.map((id) => ({ marketo_key: `${p.id}:${id}`, marketo_program_id: p.id, marketo_lead_id: id, campaign_id: campaigns.get(String(p.id))!.crmId, status: 'Registered' })));
  expect((await h.crm.upsert('campaignMember', rows, { keyField: 'marketo_key' })).every((r) => r.status !== 'failed')).toBe(true);

  // Two leave both programs in Marketo; only program A is pruned.
  for (const id of some.slice(0, 2)) {
    a.members.delete(id);
    b.members.delete(id);
  }
  const pruned = await removeAbsentProgramMembers(deps, [a.id]);
  expect(pruned).toEqual({ removed: 2, apiCalls: 1 });
  expect(await keys('campaign_members', `marketo_program_id = ${a.id}`)).toEqual(some.slice(2).map((id) => `${a.id}:${id}`).sort());
  expect(await keys('campaign_members', `marketo_program_id = ${b.id}`)).toHaveLength(5);
});

test('program: a membership read that fails part-way deletes nothing', async () => {
  const sub = h.emulator.subscription;
  const p = sub.createProgram({ name: 'Big program' });
  const leadIds = [...[...sub.lists.values()][0]!.members].slice(0, 320);
  for (const id of leadIds) sub.setProgramStatus(p.id, id, 'Invited');
  await loadPrograms(deps);
  const campaign = (await h.store.idMap.byMarketoIds('program', [String(p.id)])).get(String(p.id))!.crmId;
  const stale = { marketo_key: `${p.id}:999999`, marketo_program_id: p.id, marketo_lead_id: 999999, campaign_id: campaign };
  await h.crm.upsert('campaignMember', [stale], { keyField: 'marketo_key' });
  // The second page of members fails (Marketo's 611): the program is not pruned.
  const real = deps.marketo.leads.getByProgramId.bind(deps.marketo.leads);
  let calls = 0;
  const failing: MarketingDeps = { ...deps, marketo: Object.assign(Object.create(deps.marketo) as typeof deps.marketo, { leads: Object.assign(Object.create(deps.marketo.leads) as typeof deps.marketo.leads, {
    getByProgramId: (...args: Parameters<typeof real>) => (++calls === 2 ? Promise.reject(new Error('611 System error')) : real(...args)),
  }) }) };
  await expect(removeAbsentProgramMembers(failing, [p.id])).rejects.toThrow('611');
  expect(await keys('campaign_members', `marketo_program_id = ${p.id}`)).toEqual([stale.marketo_key]);
  // Read whole, the stale member goes.
  expect(await removeAbsentProgramMembers(deps, [p.id])).toEqual({ removed: 1, apiCalls: 2 });
});
