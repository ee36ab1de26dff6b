import { loadListMembers, loadStaticLists, type MarketingDeps } from '../../activities/marketing-static-lists.js';
import { loadPrograms } from '../../activities/marketing-programs.js';
import { startMarketingServices, type MarketingHarness } from './support.js';

// The REST loaders of the marketing phases against the emulator and Postgres, without Temporal:
// paging, resuming a list from its heartbeat, idempotent rewrites.
let h: Omit<MarketingHarness, 'taskQueue'>;
let deps: MarketingDeps;

beforeAll(async () => {
  h = await startMarketingServices({ seed: { leads: 800, programs: 0, lists: 1, customObjects: 0, membershipRate: 1 } });
  deps = { marketo: h.marketo, store: h.store, crm: h.crm };
  // One more than a Browse Programs page.
  for (let i = 1; i <= 201; i++) h.emulator.subscription.createProgram({ name: `Program ${i}` });
});

afterAll(async () => {
  await h?.close();
});

test('every program is read across asset API pages and linked in the id map', async () => {
  const loaded = await loadPrograms(deps);
  expect(loaded).toMatchObject({ records: 201, written: 201, failed: 0, apiCalls: 2 });
  expect(loaded.ids).toEqual([...h.emulator.subscription.programs.keys()].sort((a, b) => a - b));
  const links = await h.store.idMap.byMarketoIds('program', loaded.ids.map(String));
  expect(links.size).toBe(201);
  const { rows } = await h.crm.pool.query<{ n: string }>('SELECT count(*) n FROM crm.campaigns');
  expect(Number(rows[0]!.n)).toBe(201);
});

test('a list load stopped after its first page resumes from the heartbeat and writes each member once', async () => {
  const lists = await loadStaticLists(deps);
  expect(lists).toMatchObject({ records: 1, written: 1, apiCalls: 1 });
  const listId = lists.ids[0]!;
  const heartbeats: unknown[] = [];
  const crash = new Error('worker killed');
  await expect(
    loadListMembers(deps, listId, undefined, (p) => {
      heartbeats.push(p);
      throw crash;
    }),
  ).rejects.toBe(crash);
  expect(heartbeats).toEqual([expect.objectContaining({ records: 300, written: 300, apiCalls: 1, nextPageToken: expect.any(String) })]);

  const size = h.emulator.subscription.lists.get(listId)!.members.size;
  const pages = Math.ceil(size / 300);
  expect(pages).toBeGreaterThan(1);
  const resumed = await loadListMembers(deps, listId, heartbeats[0]);
  expect(resumed).toMatchObject({ records: size, written: size, failed: 0, apiCalls: pages, resumedFrom: (heartbeats[0] as { nextPageToken: string }).nextPageToken });
  const { rows } = await h.crm.pool.query<{ marketo_key: string }>('SELECT marketo_key FROM crm.list_members ORDER BY marketo_key');
  const expected = [...h.emulator.subscription.lists.get(listId)!.members].map((id) => `${listId}:${id}`).sort();
  expect(rows.map((r) => r.marketo_key)).toEqual(expected);

  // Run again from the start: the same rows, nothing added.
  expect(await loadListMembers(deps, listId)).toMatchObject({ records: size, written: size, apiCalls: pages });
  const again = await h.crm.pool.query<{ n: string }>('SELECT count(*) n FROM crm.list_members');
  expect(Number(again.rows[0]!.n)).toBe(size);
});

test('members of a list whose CRM record was never written are refused loudly', async () => {
  const orphan = h.emulator.subscription.createList({ name: 'Not loaded' });
  await expect(loadListMembers(deps, orphan.id)).rejects.toThrow(/no CRM static list record/);
});
