import pg from 'pg';
import { StateStore } from '../../src/store/state-store.js';
import { redactReason } from '../../src/store/error-ledger.js';
import { stateStoreMigrations } from '../../src/store/migrations.js';
import { runMigrations } from '../../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let store: StateStore;

beforeAll(async () => {
  db = await createTestDatabase('store');
  store = await StateStore.open({ connectionString: db.url });
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

describe('migrations', () => {
  test('concurrent starters apply each migration exactly once', async () => {
    const fresh = await createTestDatabase('migrate');
    const pools = [0, 1, 2].map(() => new pg.Pool({ connectionString: fresh.url, max: 1 }));
    try {
      const applied = await Promise.all(pools.map((p) => runMigrations(p, { schema: 'sync_state', migrations: stateStoreMigrations })));
      expect(applied.flat().sort((a, b) => a - b)).toEqual(stateStoreMigrations.map((m) => m.id));
      const { rows } = await pools[0]!.query('SELECT id FROM sync_state.schema_migrations ORDER BY id');
      expect(rows.map((r: { id: number }) => r.id)).toEqual(stateStoreMigrations.map((m) => m.id));
      expect(await runMigrations(pools[1]!, { schema: 'sync_state', migrations: stateStoreMigrations })).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await fresh.drop();
    }
  });

  test('a failing migration rolls back alone and names itself', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const migrations = [{ id: 1, name: 'ok', sql: 'CREATE TABLE t1 (x int)' }, { id: 2, name: 'broken', sql: 'CREATE TABLE t2 (x nonsense_type)' }];
      await expect(runMigrations(pool, { schema: 'scratch', migrations })).rejects.toThrow(/migration 2 \(broken\) in schema scratch failed/);
      const { rows } = await pool.query('SELECT id FROM scratch.schema_migrations');
      expect(rows).toEqual([{ id: 1 }]);
      await expect(runMigrations(pool, { schema: 'scratch', migrations: [{ id: 2, name: 'x', sql: '' }, { id: 1, name: 'y', sql: '' }] })).rejects.toThrow(/increasing/);
    } finally {
      await pool.end();
    }
  });
});

test('watermarks never move backwards', async () => {
  expect(await store.watermarks.get('crm:lead')).toBeUndefined();
  await store.watermarks.set('crm:lead', { watermark: new Date('2026-01-02T00:00:00Z'), cursor: 'c2' });
  await store.watermarks.set('crm:lead', { watermark: new Date('2026-01-01T00:00:00Z'), cursor: 'c1' });
  expect(await store.watermarks.get('crm:lead')).toMatchObject({ watermark: new Date('2026-01-02T00:00:00Z'), cursor: 'c2' });
  await store.watermarks.set('crm:lead', { watermark: new Date('2026-01-03T00:00:00Z'), cursor: 'c3' });
  expect(await store.watermarks.get('crm:lead')).toMatchObject({ watermark: new Date('2026-01-03T00:00:00Z'), cursor: 'c3' });
  await store.watermarks.set('marketo:activities', { cursor: 'token' });
  expect((await store.watermarks.list()).map((w) => w.stream)).toEqual(['crm:lead', 'marketo:activities']);
});

test('id map links both ways and relinks a Marketo id', async () => {
  await store.idMap.link([
    { entity: 'lead', marketoId: '1', crmType: 'lead', crmId: 'L1' },
    { entity: 'lead', marketoId: '2', crmType: 'contact', crmId: 'C2' },
  ]);
  expect((await store.idMap.byMarketoIds('lead', ['1', '2', '3'])).get('2')).toEqual({ entity: 'lead', marketoId: '2', crmType: 'contact', crmId: 'C2' });
  // Conversion: Marketo person 1 now syncs with contact C9.
  await store.idMap.link([{ entity: 'lead', marketoId: '1', crmType: 'contact', crmId: 'C9' }]);
  expect([...(await store.idMap.byCrmIds('lead', 'contact', ['C9', 'C2'])).keys()].sort()).toEqual(['C2', 'C9']);
  expect((await store.idMap.byCrmIds('lead', 'lead', ['L1'])).size).toBe(0);
  // After a Marketo merge the surviving person takes over contact C2; repeats in one call: last wins.
  await store.idMap.link([
    { entity: 'lead', marketoId: '1', crmType: 'contact', crmId: 'C2' },
    { entity: 'lead', marketoId: '5', crmType: 'lead', crmId: 'L5' },
    { entity: 'lead', marketoId: '5', crmType: 'lead', crmId: 'L6' },
  ]);
  expect(Object.fromEntries([...(await store.idMap.byMarketoIds('lead', ['1', '2', '5']))].map(([k, v]) => [k, v.crmId]))).toEqual({ '1': 'C2', '5': 'L6' });
  await store.idMap.link([{ entity: 'lead', marketoId: '2', crmType: 'contact', crmId: 'C2' }]);
  expect(await store.idMap.unlinkMarketo('lead', ['2'])).toBe(1);
  await expect(store.idMap.link([{ entity: 'lead', marketoId: '', crmType: 'lead', crmId: 'x' }])).rejects.toThrow(/marketoId/);
});

test('schema cache keeps the latest Describe per object', async () => {
  await store.schemaCache.put('marketo', 'lead', { fields: [{ name: 'email' }] });
  await store.schemaCache.put('marketo', 'lead', { fields: [{ name: 'email' }, { name: 'crmId' }] });
  expect((await store.schemaCache.get('marketo', 'lead'))?.describe).toEqual({ fields: [{ name: 'email' }, { name: 'crmId' }] });
  expect(await store.schemaCache.list('crm')).toEqual([]);
});

describe('error ledger', () => {
  test('repeats count attempts; retry, ignore and resolve move the status', async () => {
    const failure = { entity: 'lead', recordKey: '42', operation: 'toMarketo', source: 'marketo' as const, code: '1003', reason: "Invalid value for field 'email'" };
    await store.errors.record([failure]);
    await store.errors.record([failure, { ...failure, recordKey: '43' }]);
    let open = await store.errors.list({ status: 'open', entity: 'lead' });
    expect(open.find((e) => e.recordKey === '42')).toMatchObject({ attempts: 2, status: 'open', reason: "Invalid value for field 'email'" });
    const id42 = open.find((e) => e.recordKey === '42')!.id;
    const id43 = open.find((e) => e.recordKey === '43')!.id;
    expect(await store.errors.retry([id42])).toBe(1);
    expect((await store.errors.dueForRetry('lead', 'toMarketo')).map((e) => e.recordKey)).toEqual(['42']);
    expect(await store.errors.resolve('lead', 'toMarketo', ['42'])).toBe(1);
    expect(await store.errors.ignore([id43])).toBe(1);
    // An ignored record that fails again stays ignored.
    await store.errors.record([{ ...failure, recordKey: '43' }]);
    expect(await store.errors.counts()).toEqual({ open: 0, retrying: 0, ignored: 1, resolved: 1 });
    open = await store.errors.list({ status: 'ignored' });
    expect(open[0]).toMatchObject({ recordKey: '43', attempts: 2 });
  });

  test('field values never reach the reason', async () => {
    await store.errors.record([{ entity: 'contact', recordKey: 'C1', operation: 'toCrm', source: 'crm', code: '23505', reason: 'duplicate key value violates unique constraint "contacts_email" Key (email)=(jane@example.com) already exists' }]);
    const [entry] = await store.errors.list({ entity: 'contact' });
    expect(entry!.reason).not.toContain('jane@example.com');
    expect(redactReason('invalid input syntax for type integer: "secret"')).toBe('invalid input syntax for type integer: "…"');
  });
});

test('cycle history adds counts per entity and direction and records duration and API calls', async () => {
  const id = await store.cycles.start('sync');
  await store.cycles.addCounts(id, [{ entity: 'lead', direction: 'toCrm', created: 3, updated: 2 }], 4);
  await store.cycles.addCounts(id, [{ entity: 'lead', direction: 'toCrm', failed: 1 }, { entity: 'account', direction: 'toMarketo', updated: 2 }, { entity: 'account', direction: 'toMarketo', updated: 3 }], 2);
  await store.cycles.finish(id, { status: 'succeeded' });
  const [cycle] = await store.cycles.recent(1);
  expect(cycle).toMatchObject({ id, kind: 'sync', status: 'succeeded', apiCalls: 6, durationMs: expect.any(Number) });
  expect(cycle!.records).toEqual([
    { entity: 'account', direction: 'toMarketo', created: 0, updated: 5, deleted: 0, failed: 0 },
    { entity: 'lead', direction: 'toCrm', created: 3, updated: 2, deleted: 0, failed: 1 },
  ]);
});

test('closing a cycle with its counts is one step a retry cannot repeat', async () => {
  const id = await store.cycles.start('sync');
  const counts = [{ entity: 'lead', direction: 'toMarketo' as const, updated: 7 }];
  expect(await store.cycles.finishWithCounts(id, counts, 3, { status: 'succeeded' })).toBe(true);
  // The activity retried after its commit: the closed cycle takes nothing more.
  expect(await store.cycles.finishWithCounts(id, counts, 3, { status: 'failed', error: 'late retry' })).toBe(false);
  const [cycle] = (await store.cycles.recent(5)).filter((c) => c.id === id);
  expect(cycle).toMatchObject({ status: 'succeeded', apiCalls: 3 });
  expect(cycle!.records).toEqual([{ entity: 'lead', direction: 'toMarketo', created: 0, updated: 7, deleted: 0, failed: 0 }]);
});

test('merge map points losers at the current winner, also through chains', async () => {
  await store.merges.record('marketo', '10', ['11', '12']);
  await store.merges.record('marketo', '20', ['10']);
  const winners = await store.merges.winners('marketo', ['10', '11', '12', '20']);
  expect(Object.fromEntries(winners)).toEqual({ '10': '20', '11': '20', '12': '20' });
  expect((await store.merges.winners('crm', ['11'])).size).toBe(0);
});

test('mapping versions increase and concurrent saves do not collide', async () => {
  const config = { version: 1 as const, leadKey: { marketoField: 'crmId', crmMarketoIdField: 'marketo_lead_id' }, leadRouting: { by: 'externalCompanyId' as const }, stages: { closedWon: 'Closed Won', closedLost: 'Closed Lost' }, entities: [] };
  const versions = await Promise.all([1, 2, 3].map((n) => store.mappings.save(config, { comment: `save ${n}` })));
  expect([...versions].sort()).toEqual([1, 2, 3]);
  expect((await store.mappings.current())?.version).toBe(3);
  expect((await store.mappings.get(1))?.config).toEqual(config);
});
