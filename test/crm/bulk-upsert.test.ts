import pg from 'pg';
import type { CrmRecord } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let sync: PostgresCrmConnector;
let sql: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('bulkupsert');
  sync = await PostgresCrmConnector.open({ connectionString: db.url });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
});

afterAll(async () => {
  await sql.end();
  await sync.close();
  await db.drop();
});

const lead = (n: number): CrmRecord => ({ marketo_lead_id: n, email: `p${n}@example.com`, last_name: `Person ${n}` });

/** Large batches are merged in chunks, several at once: every record must still get its own, right result. */
describe('bulk upsert across chunks merged in parallel', () => {
  test('creates, updates and isolates failures with results in input order', async () => {
    const records = Array.from({ length: 21_000 }, (_, i) => lead(i + 1));
    records[12_344] = { ...lead(12_345), owner_id: 'U-does-not-exist' };
    records[19_999] = { ...lead(20_000), email: 'not an email' };
    const results = await sync.upsert('lead', records, { keyField: 'marketo_lead_id' });
    expect(results).toHaveLength(21_000);
    results.forEach((r, i) => expect(r.index).toBe(i));
    expect(results.filter((r) => r.status === 'created')).toHaveLength(20_998);
    expect(results[12_344]).toMatchObject({ status: 'failed', code: '23503' });
    expect(results[19_999]).toMatchObject({ status: 'failed', code: 'INVALID_VALUE' });
    const { rows } = await sql.query<{ n: string; ids: string }>('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM crm.leads');
    expect(rows[0]).toEqual({ n: '20998', ids: '20998' });
    // Each reported id holds its own input.
    for (const i of [0, 9_999, 10_000, 17_777, 20_999]) {
      const r = results[i]!;
      const [row] = await sync.getRecords('lead', [r.status === 'created' ? r.id : '']);
      expect(row).toMatchObject({ marketo_lead_id: i + 1, email: `p${i + 1}@example.com` });
    }
  });

  test('keys below the largest one are probed and updated; keys above it are appended', async () => {
    const mixed = Array.from({ length: 300 }, (_, i) => ({ ...lead(20_901 + i), last_name: 'Again' }));
    const results = await sync.upsert('lead', mixed, { keyField: 'marketo_lead_id' });
    expect(results.filter((r) => r.status === 'updated')).toHaveLength(100);
    expect(results.filter((r) => r.status === 'created')).toHaveLength(200);
    const above = await sync.upsert('lead', Array.from({ length: 300 }, (_, i) => lead(30_000 + i)), { keyField: 'marketo_lead_id' });
    expect(above.every((r) => r.status === 'created')).toBe(true);
    const { rows } = await sql.query<{ again: string; total: string }>(
      "SELECT count(*) FILTER (WHERE last_name = 'Again') AS again, count(*) AS total FROM crm.leads",
    );
    expect(rows[0]).toEqual({ again: '300', total: String(20_998 + 200 + 300) });
  });
});
