import { pendingLinks } from '../../activities/bootstrap-keys.js';
import { writeLeadBatch, type LeadSinkDeps } from '../../activities/bootstrap-leads.js';
import { createSalesActivities } from '../../activities/bootstrap-sales.js';
import { BootstrapStaging, sharesDatabase } from '../../activities/bootstrap-staging.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { loadPersonMapping, type PersonMapping } from '../../src/reconcile/person-mapping.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exportShapedRows } from './support.js';

// The single-transaction person write (CRM and state store in one database) against the general
// path: two CRM/state schema pairs in one database get the same batches, one through each path,
// and must end with the same persons, references, id map, ledger and pending links.
let emulator: RunningEmulator;
let db: TestDatabase;
let marketo: MarketoClient;
let mapping: PersonMapping;
let rows: RecordRow[];

interface Side {
  name: 'apart' | 'together';
  store: StateStore;
  crm: PostgresCrmConnector;
  staging: BootstrapStaging;
  deps: LeadSinkDeps;
  steps: string[];
  write(runId: string, batch: readonly RecordRow[]): Promise<{ written: number; failed: number }>;
}
let sides: Side[];

async function openSide(name: Side['name']): Promise<Side> {
  const store = await StateStore.open({ connectionString: db.url, schema: `state_${name}` });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url, schema: `crm_${name}` });
  const staging = new BootstrapStaging(store.pool, store.schema);
  const deps = { crm, store, staging };
  const steps: string[] = [];
  const profile = { add: (step: string) => void steps.push(step) };
  return {
    name,
    store,
    crm,
    staging,
    deps,
    steps,
    write: (runId, batch) => writeLeadBatch(deps, mapping, runId, batch, name === 'apart' ? { colocated: false } : { profile }),
  };
}

beforeAll(async () => {
  emulator = await startEmulator({
    clientId: 'pb-id',
    clientSecret: 'pb-secret',
    seed: { leads: 80, companies: 8, salespersons: 4, opportunities: 0, programs: 0, lists: 0, customObjects: 0 },
  });
  db = await createTestDatabase('person_batch');
  marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'pb-id', clientSecret: 'pb-secret' });
  sides = [await openSide('apart'), await openSide('together')];
  mapping = await loadPersonMapping({ marketo, crm: sides[0]!.crm, currentMapping: async () => undefined }, { csv: true });
  rows = await exportShapedRows(marketo, [...emulator.subscription.leads.ids()], mapping.exportFields);
});

afterAll(async () => {
  for (const s of sides ?? []) {
    await s.store.close();
    await s.crm.close();
  }
  await db?.drop();
  await emulator?.close();
});

/** Everything a person write leaves behind, with CRM ids replaced by the Marketo keys they stand for. */
async function state(side: Side, runId: string) {
  const crm = `crm_${side.name}`;
  const st = `state_${side.name}`;
  const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => (await side.crm.pool.query<T>(sql, params)).rows;
  const persons = await q<{ type: string; mid: string; account: string | null; owner: string | null }>(
    `SELECT 'lead' AS type, l.marketo_lead_id::text AS mid, to_jsonb(l) - '{id,created_at,updated_at,origin,owner_id}'::text[] AS v, u.external_sales_person_id AS owner, NULL AS account
       FROM ${crm}.leads l LEFT JOIN ${crm}.users u ON u.id = l.owner_id
     UNION ALL
     SELECT 'contact', c.marketo_lead_id::text, to_jsonb(c) - '{id,created_at,updated_at,origin,owner_id,account_id}'::text[], u.external_sales_person_id, a.external_company_id
       FROM ${crm}.contacts c LEFT JOIN ${crm}.users u ON u.id = c.owner_id LEFT JOIN ${crm}.accounts a ON a.id = c.account_id
     ORDER BY 2, 1`,
  );
  // Each id map entry must point at the CRM record holding that Marketo id.
  const idMap = await q(
    `SELECT m.marketo_id, m.crm_type, coalesce(l.marketo_lead_id, c.marketo_lead_id)::text AS points_at
     FROM ${st}.id_map m LEFT JOIN ${crm}.leads l ON m.crm_type = 'lead' AND l.id = m.crm_id LEFT JOIN ${crm}.contacts c ON m.crm_type = 'contact' AND c.id = m.crm_id
     WHERE m.entity = 'lead' ORDER BY 1`,
  );
  const ledger = await q(`SELECT entity, record_key, operation, source, code, reason, attempts, status FROM ${st}.error_ledger ORDER BY 1, 2`);
  const keys = await q(`SELECT kind, key FROM ${side.staging.keys} WHERE run_id = $1 ORDER BY 1, 2`, [runId]);
  // Persons the CRM refused are left out: the general path stages them too (their link step finds
  // nothing to update), the single transaction stages only persons it wrote.
  const written = new Set(persons.map((p) => p.mid));
  const pending = (await pendingLinks(side.staging, runId, 'personOwners', 10_000)).filter((p) => written.has(p.key)).sort((a, b) => Number(a.key) - Number(b.key));
  // CRM ids differ between the two sides; what they point at must not.
  const pendingKeys = await Promise.all(
    pending.map(async (p) => ({
      key: p.key,
      account: p.accountId ? (await q<{ k: string }>(`SELECT external_company_id AS k FROM ${crm}.accounts WHERE id = $1`, [p.accountId]))[0]?.k : undefined,
      owner: p.ownerId ? (await q<{ k: string }>(`SELECT external_sales_person_id AS k FROM ${crm}.users WHERE id = $1`, [p.ownerId]))[0]?.k : undefined,
    })),
  );
  return { persons, idMap, ledger, keys, pending: pendingKeys };
}

/** Loads the given companies and salespersons on a side, as the sales phases would while leads stream in. */
async function loadTargets(side: Side, runId: string, companies: string[], owners: string[]): Promise<void> {
  const kinds = [...companies.map(() => 'company'), ...owners.map(() => 'salesPerson')];
  await side.store.pool.query(`INSERT INTO ${side.staging.keys} (run_id, kind, key) SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING`, [runId, kinds, [...companies, ...owners]]);
  const sales = createSalesActivities({ marketo, store: side.store, crm: side.crm });
  await sales.loadSalesObjects({ runId, kind: 'company' });
  await sales.loadSalesObjects({ runId, kind: 'salesPerson' });
}

test('CRM and state store in one database are detected; a CRM in another database is not', async () => {
  expect(await sharesDatabase(sides[0]!.crm.pool, sides[0]!.staging)).toBe(true);
  const other = await createTestDatabase('person_batch_other');
  const crm = await PostgresCrmConnector.open({ connectionString: other.url });
  try {
    expect(await sharesDatabase(crm.pool, sides[0]!.staging)).toBe(false);
  } finally {
    await crm.close();
    await other.drop();
  }
});

test('one transaction per batch leaves what the general path leaves: persons, references, id map, ledger, pending links; a retry changes nothing', async () => {
  const run = 'same-run';
  expect(rows).toHaveLength(80);
  const batch = rows.slice(0, 60).map((r) => ({ ...r }));
  batch[1]!.leadScore = 'not a number'; // mapping refuses it
  batch[2]!.email = 'nobody'; // mapping refuses it
  batch[3]!.leadScore = '99999999999'; // an integer, but out of the CRM column's range: the CRM check refuses it
  batch[4] = { ...batch[5]! }; // the same Marketo id twice in one batch
  batch[6]!.externalCompanyId = null; // routed to CRM lead
  batch[7]!.externalCompanyId = null;
  batch[7]!.externalSalesPersonId = null;
  const companies = [...new Set(batch.map((r) => r.externalCompanyId).filter((k): k is string => !!k))].sort();
  const owners = [...new Set(batch.map((r) => r.externalSalesPersonId).filter((k): k is string => !!k))].sort();
  for (const side of sides) await loadTargets(side, run, companies.slice(0, Math.ceil(companies.length / 2)), owners.slice(0, Math.ceil(owners.length / 2)));

  const outcomes = [];
  for (const side of sides) outcomes.push([await side.write(run, batch.slice(0, 30)), await side.write(run, batch.slice(30))]);
  expect(outcomes[0]).toEqual([{ written: 26, failed: 4 }, { written: 30, failed: 0 }]);
  expect(outcomes[1]).toEqual(outcomes[0]);
  // The single-transaction path really ran (it reports its steps; the general path does not).
  expect(sides[1]!.steps).toContain('statement+commit');
  expect(sides[0]!.steps).toEqual([]);

  // The other half of the targets loads afterwards: the persons that name them are pending links.
  for (const side of sides) await loadTargets(side, run, companies, owners);
  const [apart, together] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  expect(apart.persons).toHaveLength(56);
  expect(apart.ledger.map((e) => [e.record_key, e.code, e.source])).toEqual(
    [
      [batch[1]!.id, 'MAPPING', 'marketo'],
      [batch[2]!.id, 'MAPPING', 'marketo'],
      [batch[3]!.id, 'INVALID_VALUE', 'crm'],
      [batch[4]!.id, 'DUPLICATE_IN_BATCH', 'crm'],
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  expect(apart.persons.filter((p) => p.type === 'lead').map((p) => p.mid)).toEqual([batch[6]!.id, batch[7]!.id].sort());
  expect(apart.pending.length).toBeGreaterThan(0);
  expect(apart.idMap.every((m) => m.points_at === m.marketo_id)).toBe(true);
  expect(together).toEqual(apart);
  // Only persons with a reference left to set are staged on the single-transaction side.
  const staged = async (side: Side) => Number((await side.store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${side.staging.personRefs} WHERE run_id = $1`, [run])).rows[0]!.n);
  expect(await staged(sides[0]!)).toBe(59);
  expect(await staged(sides[1]!)).toBeLessThan(59);

  // A retried window: the same batches again update in place, no duplicates, the same ledger attempts.
  const retriesBefore = sides[1]!.steps.filter((s) => s === 'upsert after insert').length;
  for (const side of sides) {
    expect(await side.write(run, batch.slice(0, 30))).toEqual({ written: 26, failed: 4 });
    expect(await side.write(run, batch.slice(30))).toEqual({ written: 30, failed: 0 });
  }
  // The first retried batch failed as plain inserts and was written again as upserts; the next
  // one started as upserts (the previous batch rewrote persons).
  expect(sides[1]!.steps.filter((s) => s === 'upsert after insert').length - retriesBefore).toBe(1);
  const [apart2, together2] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  // Every target is loaded by now, so the rewrite sets every reference; nothing else changes.
  const unlinked = (p: Record<string, unknown>) => ({ ...p, account: null, owner: null });
  expect(apart2.persons.map(unlinked)).toEqual(apart.persons.map(unlinked));
  expect(apart2.persons.filter((p) => p.type === 'contact').every((p) => p.account !== null)).toBe(true);
  expect(apart2.pending).toEqual([]);
  expect(apart2.ledger.map((e) => e.attempts)).toEqual([2, 2, 2, 2]);
  expect(together2).toEqual(apart2);

  // The refused records fixed: written, and their ledger entries resolved (the ledger has open entries, so the resolve runs).
  const fixed = [rows[1]!, rows[2]!, rows[3]!];
  for (const side of sides) expect(await side.write(run, fixed)).toEqual({ written: 3, failed: 0 });
  const [apart3, together3] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  expect(apart3.ledger.map((e) => [e.record_key, e.status])).toEqual(
    [
      [batch[1]!.id, 'resolved'],
      [batch[2]!.id, 'resolved'],
      [batch[3]!.id, 'resolved'],
      [batch[4]!.id, 'resolved'], // its first copy was written in the same batch
    ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  expect(together3).toEqual(apart3);
});

test('a batch the database refuses (a loaded account that is gone) falls back to the general path: the refused persons are ledgered alone', async () => {
  const run = 'fallback-run';
  const batch = rows.slice(60);
  const company = batch.find((r) => r.externalCompanyId)!.externalCompanyId!;
  for (const side of sides) {
    // The company counts as loaded, but its CRM record does not exist: the account's foreign key fails.
    await side.store.pool.query(`INSERT INTO ${side.staging.loaded} (run_id, kind, key, crm_id) VALUES ($1, 'company', $2, 'A-GONE')`, [run, company]);
  }
  const affected = batch.filter((r) => r.externalCompanyId === company).length;
  expect(affected).toBeGreaterThan(0);
  const steps = sides[1]!.steps.length;
  for (const side of sides) expect(await side.write(run, batch)).toEqual({ written: batch.length - affected, failed: affected });
  // It tried the single transaction first.
  expect(sides[1]!.steps.length).toBeGreaterThan(steps);
  const [apart, together] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  expect(apart.ledger.filter((e) => e.code === '23503')).toHaveLength(affected);
  expect(together).toEqual(apart);
});

test('a person whose CRM record is gone but whose id map entry is left is written again, and the id map points at the new record', async () => {
  const run = 'gone-run';
  // Persons no earlier test wrote (ids of their own), so the first write is of new persons only
  // and leaves the writer starting batches as plain inserts.
  const batch = rows.slice(40, 50).map((r, i) => ({ ...r, id: String(900_000 + i), email: `gone${i}@example.com` }));
  for (const side of sides) expect(await side.write(run, batch)).toEqual({ written: 10, failed: 0 });
  // A CRM user deletes one person: its id map entry stays (nothing removes it during a bootstrap).
  const victim = batch[3]!.id!;
  for (const side of sides) {
    const out = await side.crm.pool.query(`DELETE FROM crm_${side.name}.contacts WHERE marketo_lead_id = $1`, [victim]);
    const out2 = await side.crm.pool.query(`DELETE FROM crm_${side.name}.leads WHERE marketo_lead_id = $1`, [victim]);
    expect((out.rowCount ?? 0) + (out2.rowCount ?? 0)).toBe(1);
  }
  const retries = sides[1]!.steps.filter((s) => s === 'upsert after insert').length;
  // Only the deleted person in a batch of its own: the CRM insert succeeds, the id map insert
  // meets the old entry, and the batch is written again as upserts.
  const again = batch.filter((r) => r.id === victim);
  for (const side of sides) expect(await side.write(run, again)).toEqual({ written: 1, failed: 0 });
  expect(sides[1]!.steps.filter((s) => s === 'upsert after insert').length).toBe(retries + 1);
  const [apart, together] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  expect(apart.idMap.filter((m) => m.marketo_id === victim)).toEqual([expect.objectContaining({ points_at: victim })]);
  expect(together).toEqual(apart);
});

test('a person the general path staged as pending and that is written linked now is marked linked (no link step rewrites it)', async () => {
  const run = 'restaged-run';
  const person = rows.find((r) => r.externalCompanyId && r.externalSalesPersonId && Number(r.id) > 50)!;
  const type = person.externalCompanyId ? 'contact' : 'lead';
  for (const side of sides) {
    // An earlier attempt by the general path staged the person pending, and its CRM write never committed.
    await side.staging.stage(run, [{ marketoId: person.id!, type, externalCompanyId: person.externalCompanyId!, externalSalesPersonId: person.externalSalesPersonId! }]);
    await loadTargets(side, run, [person.externalCompanyId!], [person.externalSalesPersonId!]);
  }
  expect(await side1Staged(run, person.id!)).toEqual({ account_linked: false, owner_linked: false });
  for (const side of sides) expect(await side.write(run, [person])).toEqual({ written: 1, failed: 0 });
  expect(await side1Staged(run, person.id!)).toEqual({ account_linked: true, owner_linked: true });
  const [apart, together] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  expect(together.pending).toEqual([]);
  expect(together).toEqual(apart);
});

async function side1Staged(run: string, id: string): Promise<{ account_linked: boolean; owner_linked: boolean } | undefined> {
  const { rows: out } = await sides[1]!.store.pool.query<{ account_linked: boolean; owner_linked: boolean }>(
    `SELECT account_linked, owner_linked FROM ${sides[1]!.staging.personRefs} WHERE run_id = $1 AND marketo_lead_id = $2`,
    [run, id],
  );
  return out[0];
}

test('values an array literal must quote, and a bad value per transform kind, end as the general path leaves them', async () => {
  const run = 'values-run';
  const base: RecordRow[] = rows.slice(0, 24).map((r, i) => ({ ...r, id: String(910_000 + i), email: `values${i}@example.com` }));
  // Texts array_in reads specially unless quoted, and values each family's transform normalises.
  const texts = ['NULL', 'null ', 'a,b', '{braces}', 'quote"d', 'back\\slash', '  padded  ', 'tab\there', 'Zoë 日本 😀', 'line\nbreak', ''];
  texts.forEach((t, i) => Object.assign(base[i]!, { firstName: t, lastName: texts[texts.length - 1 - i], city: t }));
  // Leads (no company) for the fields only CRM leads have.
  for (const i of [11, 14, 17, 21]) base[i]!.externalCompanyId = null;
  Object.assign(base[11]!, { leadScore: ' +42 ', numberOfEmployees: '12.000', annualRevenue: ' 1.5e3 ', doNotCall: ' YES ', unsubscribed: 'null' });
  Object.assign(base[12]!, { email: ' spaced@example.com ', dateOfBirth: '2024-02-29' });
  // One bad value per kind, each refused by the mapping (MAPPING) or by the CRM's check (INVALID_VALUE).
  Object.assign(base[13]!, { leadScore: '12.5' });
  Object.assign(base[14]!, { annualRevenue: '1,000' });
  Object.assign(base[15]!, { doNotCall: 'maybe' });
  Object.assign(base[16]!, { dateOfBirth: '2023-02-29' });
  Object.assign(base[17]!, { numberOfEmployees: '12.5' });
  Object.assign(base[18]!, { email: 'nobody' });
  Object.assign(base[19]!, { firstName: 'x'.repeat(256) });
  Object.assign(base[20]!, { lastName: 'nul\u0000inside' });
  Object.assign(base[21]!, { leadScore: 'x', annualRevenue: 'y' }); // two transform errors, joined
  const steps = sides[1]!.steps.length;
  const outcomes = [];
  for (const side of sides) outcomes.push(await side.write(run, base));
  expect(outcomes[1]).toEqual(outcomes[0]);
  expect(outcomes[0]).toEqual({ written: base.length - 9, failed: 9 });
  expect(sides[1]!.steps.slice(steps)).toContain('statement+commit');
  const [apart, together] = [await state(sides[0]!, run), await state(sides[1]!, run)];
  const ids = new Set(base.map((r) => r.id));
  const mine = <T extends Record<string, unknown>>(list: T[], key: keyof T) => list.filter((e) => ids.has(String(e[key])));
  expect(mine(apart.ledger, 'record_key').map((e) => [e.record_key, e.code]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))).toEqual(
    [13, 14, 15, 16, 17, 18, 19, 20, 21].map((i) => [base[i]!.id, i === 20 ? 'INVALID_VALUE' : 'MAPPING']).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  expect(mine(apart.ledger, 'record_key').find((e) => e.record_key === base[21]!.id)!.reason).toMatch(/lead_score.*; .*annual_revenue/);
  expect(mine(together.ledger, 'record_key')).toEqual(mine(apart.ledger, 'record_key'));
  const written = mine(apart.persons, 'mid');
  expect(written).toHaveLength(base.length - 9);
  expect(mine(together.persons, 'mid')).toEqual(written);
  expect(together).toEqual(apart);
});
