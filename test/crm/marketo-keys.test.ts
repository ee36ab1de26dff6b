import type { Change } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { isSyncKeyField } from '../../src/crm/marketo-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let sync: PostgresCrmConnector;
let user: PostgresCrmConnector;

beforeAll(async () => {
  db = await createTestDatabase('crmkeys');
  sync = await PostgresCrmConnector.open({ connectionString: db.url });
  user = await PostgresCrmConnector.open({ connectionString: db.url, writeOrigin: 'user' });
});

afterAll(async () => {
  await user.close();
  await sync.close();
  await db.drop();
});

async function changesAfter(entity: 'account' | 'opportunityRole' | 'user' | 'opportunity', cursor: string | undefined): Promise<{ changes: Change[]; cursor: string }> {
  const page = await sync.readChanges(entity, { cursor, limit: 1000 });
  return { changes: page.changes, cursor: page.cursor };
}

const created = (r: { status: string; id?: string } | undefined): string => {
  if (!r || r.status !== 'created' || !r.id) throw new Error('fixture not created');
  return r.id;
};

describe('Marketo key columns', () => {
  test('tombstones of accounts, users, opportunities and roles keep the Marketo keys', async () => {
    const start = await Promise.all((['account', 'user', 'opportunity', 'opportunityRole'] as const).map((e) => changesAfter(e, undefined)));
    const u = created((await sync.upsert('user', [{ external_sales_person_id: 'EXT-SP-7', last_name: 'Seven' }], { keyField: 'external_sales_person_id' }))[0]);
    const a = created((await sync.upsert('account', [{ external_company_id: 'EXT-C-7', name: 'Seven' }], { keyField: 'external_company_id' }))[0]);
    const o = created((await sync.upsert('opportunity', [{ external_opportunity_id: 'EXT-O-7', name: 'Seven' }], { keyField: 'external_opportunity_id' }))[0]);
    const c = created((await user.upsert('contact', [{ email: 'seven@example.com' }], { keyField: 'id' }))[0]);
    const r = created((await sync.upsert('opportunityRole', [{ opportunity_id: o, contact_id: c, role: 'Buyer', marketo_guid: 'guid-7' }], { keyField: 'marketo_guid' }))[0]);
    await user.delete('opportunity', [o]);
    await user.delete('account', [a]);
    await user.delete('user', [u]);
    const deletes = async (i: number, entity: 'account' | 'user' | 'opportunity' | 'opportunityRole') =>
      (await changesAfter(entity, start[i]!.cursor)).changes.filter((x) => x.kind === 'delete');
    expect(await deletes(0, 'account')).toEqual([expect.objectContaining({ id: a, keys: { external_company_id: 'EXT-C-7' } })]);
    expect(await deletes(1, 'user')).toEqual([expect.objectContaining({ id: u, keys: { external_sales_person_id: 'EXT-SP-7' } })]);
    expect(await deletes(2, 'opportunity')).toEqual([expect.objectContaining({ id: o, keys: { external_opportunity_id: 'EXT-O-7' } })]);
    expect(await deletes(3, 'opportunityRole')).toEqual([
      expect.objectContaining({ id: r, keys: { opportunity_id: o, contact_id: c, role: 'Buyer', marketo_guid: 'guid-7' } }),
    ]);
  });

  test('a sync write of only a key column keeps the stamp and origin, so a pending user edit is still read', async () => {
    const a = created((await user.upsert('account', [{ name: 'Pending' }], { keyField: 'id' }))[0]);
    const before = await changesAfter('account', undefined);
    await user.upsert('account', [{ id: a, industry: 'Edited by a user' }], { keyField: 'id', updateOnly: true });
    const [edited] = await sync.getRecords('account', [a]);
    // The sync records Marketo's key for the row before it read the user's edit.
    expect((await sync.upsert('account', [{ id: a, external_company_id: 'EXT-C-8' }], { keyField: 'id', updateOnly: true }))[0]).toMatchObject({ status: 'updated' });
    const [after] = await sync.getRecords('account', [a]);
    expect(after).toMatchObject({ external_company_id: 'EXT-C-8', updated_at: edited!.updated_at });
    const read = await changesAfter('account', before.cursor);
    expect(read.changes).toEqual([expect.objectContaining({ kind: 'upsert', id: a, record: expect.objectContaining({ industry: 'Edited by a user', external_company_id: 'EXT-C-8' }) })]);

    // A sync write of data (not only the key) is a change of the sync's: left out as an echo.
    await sync.upsert('account', [{ id: a, industry: 'From Marketo' }], { keyField: 'id', updateOnly: true });
    expect((await changesAfter('account', read.cursor)).changes).toEqual([]);
  });

  test('leads and contacts have deleted_in_marketo (migration 5), false by default, never suggested as a mapped field', async () => {
    const describe = await sync.describe();
    for (const entity of ['lead', 'contact'] as const) {
      expect(describe.entities.find((e) => e.name === entity)?.fields.map((f) => f.name)).toContain('deleted_in_marketo');
      expect(isSyncKeyField(entity, 'deleted_in_marketo')).toBe(true);
    }
    const c = created((await user.upsert('contact', [{ email: 'flag@example.com' }], { keyField: 'id' }))[0]);
    expect((await sync.getRecords('contact', [c]))[0]).toMatchObject({ deleted_in_marketo: false });
    await sync.upsert('contact', [{ id: c, deleted_in_marketo: true, marketo_lead_id: null }], { keyField: 'id', updateOnly: true });
    expect((await sync.getRecords('contact', [c]))[0]).toMatchObject({ deleted_in_marketo: true });
  });
});
