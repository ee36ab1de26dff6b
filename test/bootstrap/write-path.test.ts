import { writeLeadBatch } from '../../activities/bootstrap-leads.js';
import { pendingLinks } from '../../activities/bootstrap-keys.js';
import { createSalesActivities } from '../../activities/bootstrap-sales.js';
import { BootstrapStaging } from '../../activities/bootstrap-staging.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { loadPersonMapping, type PersonMapping } from '../../src/reconcile/person-mapping.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exportShapedRows } from './support.js';

// The bootstrap's person write path without Temporal: persons whose company and salesperson are
// loaded already are written linked; the rest are linked later in one pass per person that sets
// account and owner together; a retried batch keeps what is linked.
let emulator: RunningEmulator;
let db: TestDatabase;
let store: StateStore;
let crm: PostgresCrmConnector;
let marketo: MarketoClient;
let mapping: PersonMapping;
let staging: BootstrapStaging;
let rows: RecordRow[];
const RUN = 'write-path-run';

beforeAll(async () => {
  emulator = await startEmulator({
    clientId: 'wp-id',
    clientSecret: 'wp-secret',
    seed: { leads: 60, companies: 6, salespersons: 4, opportunities: 0, programs: 0, lists: 0, customObjects: 0 },
  });
  db = await createTestDatabase('write_path');
  store = await StateStore.open({ connectionString: db.url });
  crm = await PostgresCrmConnector.open({ connectionString: db.url });
  marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'wp-id', clientSecret: 'wp-secret' });
  mapping = await loadPersonMapping({ marketo, crm, currentMapping: async () => undefined }, { csv: true });
  staging = new BootstrapStaging(store.pool, store.schema);
  rows = await exportShapedRows(marketo, [...emulator.subscription.leads.ids()], mapping.exportFields);
});

afterAll(async () => {
  await store?.close();
  await crm?.close();
  await db?.drop();
  await emulator?.close();
});

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => (await crm.pool.query<T>(sql, params)).rows;

/** Each contact's account and owner as the Marketo keys they point at (null: not set). */
async function linkedKeys(): Promise<Map<string, { company: string | null; owner: string | null }>> {
  const found = await q<{ id: string; company: string | null; owner: string | null }>(
    `SELECT c.marketo_lead_id::text AS id, a.external_company_id AS company, u.external_sales_person_id AS owner
     FROM crm.contacts c LEFT JOIN crm.accounts a ON a.id = c.account_id LEFT JOIN crm.users u ON u.id = c.owner_id`,
  );
  return new Map(found.map((r) => [r.id, { company: r.company, owner: r.owner }]));
}

const expected = (row: RecordRow) => ({ company: row.externalCompanyId ?? null, owner: row.externalSalesPersonId ?? null });

test('persons written after their targets load are linked at write time; the rest in one pass that sets account and owner together', async () => {
  expect(rows).toHaveLength(60);
  expect(rows.every((r) => r.externalCompanyId && r.externalSalesPersonId)).toBe(true);
  const early = rows.slice(0, 30);
  const late = rows.slice(30);
  const deps = { crm, store, staging };

  // Nothing loaded yet: written without references, staged as pending.
  expect(await writeLeadBatch(deps, mapping, RUN, early)).toEqual({ written: 30, failed: 0 });
  expect([...(await linkedKeys()).values()].every((k) => k.company === null && k.owner === null)).toBe(true);
  const keys = await store.pool.query<{ kind: string; n: string }>(`SELECT kind, count(*) AS n FROM ${staging.keys} WHERE run_id = $1 GROUP BY kind ORDER BY kind`, [RUN]);
  expect(Object.fromEntries(keys.rows.map((r) => [r.kind, Number(r.n)]))).toEqual({
    company: new Set(early.map((r) => r.externalCompanyId)).size,
    salesPerson: new Set(early.map((r) => r.externalSalesPersonId)).size,
  });

  // The companies and salespersons the staged keys name are loaded (through the emulator's REST API).
  const sales = createSalesActivities({ marketo, store, crm });
  expect(await sales.loadSalesObjects({ runId: RUN, kind: 'company' })).toMatchObject({ failed: 0, written: new Set(early.map((r) => r.externalCompanyId)).size });
  expect(await sales.loadSalesObjects({ runId: RUN, kind: 'salesPerson' })).toMatchObject({ failed: 0 });

  // Later persons whose targets are all loaded now are written with them set, and not pending.
  const loadedCompanies = new Set(early.map((r) => r.externalCompanyId));
  const loadedOwners = new Set(early.map((r) => r.externalSalesPersonId));
  expect(await writeLeadBatch(deps, mapping, RUN, late)).toEqual({ written: 30, failed: 0 });
  const afterLate = await linkedKeys();
  for (const row of late) {
    const got = afterLate.get(row.id!)!;
    expect(got.company).toBe(loadedCompanies.has(row.externalCompanyId!) ? row.externalCompanyId : null);
    expect(got.owner).toBe(loadedOwners.has(row.externalSalesPersonId!) ? row.externalSalesPersonId : null);
  }
  const pending = await pendingLinks(staging, RUN, 'personOwners', 1000);
  // Exactly the early persons, each with both references: late persons are either linked or name a target not loaded yet.
  expect(pending.map((p) => p.key).sort()).toEqual(early.map((r) => r.id!).sort());
  expect(pending.every((p) => p.accountId !== undefined && p.ownerId !== undefined)).toBe(true);

  // One link step per person: account and owner in the same write, then nothing is left.
  expect(await sales.linkSalesReferences({ runId: RUN, target: 'contactAccounts', limit: 1000 })).toMatchObject({ taken: 30, written: 30, failed: 0 });
  expect(await sales.linkSalesReferences({ runId: RUN, target: 'personOwners', limit: 1000 })).toMatchObject({ taken: 0 });
  // The remaining keys of the late persons load in the next round; their persons are linked then.
  await sales.loadSalesObjects({ runId: RUN, kind: 'company' });
  await sales.loadSalesObjects({ runId: RUN, kind: 'salesPerson' });
  await sales.linkSalesReferences({ runId: RUN, target: 'contactAccounts', limit: 1000 });
  expect(await sales.linkSalesReferences({ runId: RUN, target: 'personOwners', limit: 1000 })).toMatchObject({ taken: 0 });
  const all = await linkedKeys();
  expect(all.size).toBe(60);
  for (const row of rows) expect(all.get(row.id!)).toEqual(expected(row));

  // A retried window (same rows again) keeps every person linked and stages nothing as pending.
  expect(await writeLeadBatch(deps, mapping, RUN, early)).toEqual({ written: 30, failed: 0 });
  expect(await pendingLinks(staging, RUN, 'contactAccounts', 1000)).toEqual([]);
  for (const row of rows) expect((await linkedKeys()).get(row.id!)).toEqual(expected(row));
});

test('a person staged again with another company key is pending again; with the same key it stays linked', async () => {
  const run = 'restage-run';
  const person = { marketoId: '900001', type: 'contact' as const, externalCompanyId: 'C-A', externalSalesPersonId: 'S-A' };
  await staging.stage(run, [{ ...person, accountLinked: true, ownerLinked: true }]);
  await staging.stage(run, [{ ...person, accountLinked: false, ownerLinked: false }]);
  const flags = async () =>
    (await store.pool.query<{ a: boolean; o: boolean }>(`SELECT account_linked AS a, owner_linked AS o FROM ${staging.personRefs} WHERE run_id = $1`, [run])).rows[0];
  expect(await flags()).toEqual({ a: true, o: true });
  await staging.stage(run, [{ ...person, externalCompanyId: 'C-B', accountLinked: false, ownerLinked: false }]);
  expect(await flags()).toEqual({ a: false, o: true });
});
