import pg from 'pg';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

// The bootstrap's staging tables used to be created on first use; the migration that now creates
// them must accept a database that already has them (and their rows), and fill the keys table.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('staging_migration');
});

afterAll(async () => {
  await db.drop();
});

test('migration 9 keeps staging tables created by the old first-use DDL, and their rows, and backfills the distinct keys', async () => {
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    // What BootstrapStaging.ensure() created before the migration existed.
    await admin.query(`CREATE SCHEMA legacy;
      CREATE TABLE legacy.bootstrap_person_refs (run_id text NOT NULL, marketo_lead_id bigint NOT NULL, person_type text NOT NULL,
        external_company_id text, external_sales_person_id text, PRIMARY KEY (run_id, marketo_lead_id));
      ALTER TABLE legacy.bootstrap_person_refs ADD COLUMN account_linked boolean NOT NULL DEFAULT false;
      ALTER TABLE legacy.bootstrap_person_refs ADD COLUMN owner_linked boolean NOT NULL DEFAULT false;
      CREATE INDEX bootstrap_person_refs_owner_pending ON legacy.bootstrap_person_refs (run_id, marketo_lead_id) WHERE NOT owner_linked;
      CREATE TABLE legacy.bootstrap_loaded (run_id text NOT NULL, kind text NOT NULL, key text NOT NULL, crm_id text, company_key text,
        sales_person_key text, account_linked boolean NOT NULL DEFAULT false, owner_linked boolean NOT NULL DEFAULT false, PRIMARY KEY (run_id, kind, key));
      INSERT INTO legacy.bootstrap_person_refs (run_id, marketo_lead_id, person_type, external_company_id, external_sales_person_id, owner_linked)
        VALUES ('r1', 1, 'contact', 'C1', 'S1', true), ('r1', 2, 'contact', 'C1', NULL, false), ('r1', 3, 'lead', NULL, 'S2', false), ('r2', 4, 'contact', 'C9', 'S1', false);
      INSERT INTO legacy.bootstrap_loaded (run_id, kind, key, crm_id) VALUES ('r1', 'company', 'C1', 'A-1');`);
  } finally {
    await admin.end();
  }

  const store = await StateStore.open({ connectionString: db.url, schema: 'legacy' });
  try {
    const q = async (sql: string) => (await store.pool.query(sql)).rows;
    expect(await q(`SELECT id FROM legacy.schema_migrations WHERE name = 'bootstrap staging'`)).toEqual([{ id: 9 }]);
    expect(await q(`SELECT marketo_lead_id::int AS id, owner_linked FROM legacy.bootstrap_person_refs ORDER BY 1`)).toEqual([
      { id: 1, owner_linked: true },
      { id: 2, owner_linked: false },
      { id: 3, owner_linked: false },
      { id: 4, owner_linked: false },
    ]);
    expect(await q(`SELECT crm_id FROM legacy.bootstrap_loaded`)).toEqual([{ crm_id: 'A-1' }]);
    expect(await q(`SELECT run_id, kind, key FROM legacy.bootstrap_keys ORDER BY 1, 2, 3`)).toEqual([
      { run_id: 'r1', kind: 'company', key: 'C1' },
      { run_id: 'r1', kind: 'salesPerson', key: 'S1' },
      { run_id: 'r1', kind: 'salesPerson', key: 'S2' },
      { run_id: 'r2', kind: 'company', key: 'C9' },
      { run_id: 'r2', kind: 'salesPerson', key: 'S1' },
    ]);
    // The tables the old DDL had not created yet (role refs) and the indexes exist now.
    const indexes = await q(`SELECT indexname FROM pg_indexes WHERE schemaname = 'legacy' AND tablename = 'bootstrap_person_refs' ORDER BY 1`);
    expect(indexes.map((r) => r.indexname)).toEqual(['bootstrap_person_refs_account_pending', 'bootstrap_person_refs_owner_pending', 'bootstrap_person_refs_pkey']);
    expect(await q(`SELECT count(*)::int AS n FROM legacy.bootstrap_role_refs`)).toEqual([{ n: 0 }]);
  } finally {
    await store.close();
  }
});
