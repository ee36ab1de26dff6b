import { reconcile, type EntityReport, type ReconcileResult } from '../../src/reconcile/index.js';
import { FAST, mirrorIntoCrm, startReconcileHarness, type ReconcileHarness } from './support.js';

// Persons, companies, salespersons, opportunities and roles: the emulator's data mirrored into the
// Postgres CRM the way the sync writes it must reconcile clean; then one difference of every kind
// per entity, made on either side, must be reported exactly (and nothing else).
let h: ReconcileHarness;
const ENTITIES = ['persons', 'companies', 'salespersons', 'opportunities', 'roles'] as const;

beforeAll(async () => {
  h = await startReconcileHarness();
  await mirrorIntoCrm(h);
});

afterAll(async () => {
  await h?.close();
});

function entity(result: ReconcileResult, name: string): EntityReport {
  const r = result.entities.find((e) => e.entity === name);
  if (!r) throw new Error(`no report for ${name}`);
  return r;
}

const run = (extra: Parameters<typeof reconcile>[1] = {}) => reconcile({ marketo: h.marketo, crm: h.crm, store: h.store }, { entities: [...ENTITIES], since: h.since, ...FAST, ...extra });

test('a CRM loaded the way the sync loads it reconciles with zero differences, every record compared', async () => {
  const result = await run();
  const seeded = h.emulator.seedSummary!;
  for (const r of result.entities) expect({ entity: r.entity, differences: r.differences, notes: r.notes }).toMatchObject({ entity: r.entity, differences: 0 });
  expect(result.ok).toBe(true);
  expect(entity(result, 'persons')).toMatchObject({ marketo: seeded.leads, crm: seeded.leads, matched: seeded.leads });
  expect(entity(result, 'companies')).toMatchObject({ marketo: seeded.companies, crm: seeded.companies, matched: seeded.companies });
  expect(entity(result, 'salespersons')).toMatchObject({ marketo: seeded.salespersons, crm: seeded.salespersons, matched: seeded.salespersons });
  expect(entity(result, 'opportunities')).toMatchObject({ marketo: seeded.opportunities, crm: seeded.opportunities, matched: seeded.opportunities });
  expect(entity(result, 'roles')).toMatchObject({ marketo: seeded.roles, crm: seeded.roles, matched: seeded.roles });
  // Counted: the bulk exports, the REST lookups and Describe.
  expect(result.apiCalls).toBeGreaterThan(10);
  for (const r of result.entities) expect(r.apiCalls).toBeGreaterThan(0);
  expect(result.apiCalls).toBeGreaterThanOrEqual(result.entities.reduce((n, e) => n + e.apiCalls, 0));
});
