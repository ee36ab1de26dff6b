import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let store: StateStore;

beforeAll(async () => {
  db = await createTestDatabase('ledger_resolve');
  store = await StateStore.open({ connectionString: db.url });
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

test('resolveRecords resolves open and retrying entries of several entities in one call, and nothing else', async () => {
  const base = { operation: 'bootstrap', source: 'crm' as const, code: '23502', reason: 'refused' };
  await store.errors.record([
    { ...base, entity: 'lead', recordKey: '1' },
    { ...base, entity: 'contact', recordKey: '2' },
    { ...base, entity: 'contact', recordKey: '3' },
    { ...base, entity: 'contact', recordKey: '4' },
    { ...base, entity: 'lead', recordKey: '5', operation: 'on-demand' },
  ]);
  const byKey = new Map((await store.errors.list({ limit: 10 })).map((e) => [`${e.entity}/${e.recordKey}/${e.operation}`, e]));
  expect(await store.errors.retry([byKey.get('contact/3/bootstrap')!.id])).toBe(1);
  expect(await store.errors.ignore([byKey.get('contact/4/bootstrap')!.id])).toBe(1);

  const resolved = await store.errors.resolveRecords('bootstrap', [
    { entity: 'lead', recordKey: '1' },
    { entity: 'lead', recordKey: '1' },
    { entity: 'contact', recordKey: '3' },
    { entity: 'contact', recordKey: '4' },
    // Same key under another entity and another operation: left alone.
    { entity: 'lead', recordKey: '2' },
    { entity: 'lead', recordKey: '5' },
  ]);
  expect(resolved).toBe(2);
  const status = Object.fromEntries((await store.errors.list({ limit: 10 })).map((e) => [`${e.entity}/${e.recordKey}/${e.operation}`, e.status]));
  expect(status).toEqual({
    'lead/1/bootstrap': 'resolved',
    'contact/2/bootstrap': 'open',
    'contact/3/bootstrap': 'resolved',
    'contact/4/bootstrap': 'ignored',
    'lead/5/on-demand': 'open',
  });
  expect(await store.errors.resolveRecords('bootstrap', [])).toBe(0);
});
