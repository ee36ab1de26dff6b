import { writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { workflowCode } from '../../workers/worker.js';
import { configureBulk } from '../../emulator/bulk/service.js';
import { marketoStream } from '../../activities/bootstrap.js';
import { reconcile } from '../../src/reconcile/index.js';
import type { BootstrapInput } from '../../workflows/bootstrap-types.js';
import { bootstrap } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { FAST_POLL } from './support.js';

// The lead-database phases end to end on the dev server: leads, companies by the keys on leads,
// Add to Opportunity activities → opportunities → roles, salespersons, every reference linked;
// then the reconciliation compares every entity record by record.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const FROM = '2024-01-01T00:00:00Z';
const TO = '2024-04-30T00:00:00Z';
const SINCE = '2023-12-01T00:00:00Z';
const HIGH = '2024-05-01T00:00:00Z';
const LEADS = 300;
const ALL = { leads: { enabled: true }, companies: { enabled: true }, opportunities: { enabled: true }, opportunityRoles: { enabled: true }, salesPersons: { enabled: true } };

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, {
    emulator: { seed: { leads: LEADS, companies: 12, salespersons: 5, opportunities: 10, rolesPerOpportunity: 3, programs: 0, lists: 0, customObjects: 0, from: FROM, to: TO } },
  });
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 5_000 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const run = (workflowId: string, entities: BootstrapInput['entities']) =>
  env.client.workflow.execute(bootstrap, { taskQueue: h.taskQueue, workflowId, args: [{ since: SINCE, highWatermark: HIGH, entities, maxWindowDays: 31, poll: FAST_POLL }] });

const count = async (table: string, where = 'true') => Number((await h.crm.pool.query<{ n: string }>(`SELECT count(*) AS n FROM crm.${table} WHERE ${where}`)).rows[0]!.n);

test('every sales entity lands once with every reference set, and the reconciliation finds no difference', async () => {
  const seeded = h.emulator.seedSummary!;
  const result = await run('bootstrap-sales', ALL);
  expect(result.progress.state).toBe('done');
  for (const name of Object.keys(ALL)) expect(result.progress.phases[name]).toMatchObject({ state: 'done', failed: 0 });
  // 2023-12-01 .. 2024-05-01 in ≤31-day windows: 5 lead exports and 5 Add to Opportunity exports.
  expect(result.progress.phases.leads).toMatchObject({ windowsTotal: 5, records: LEADS, written: LEADS });
  // The Add to Opportunity activities read; the sink writes the opportunities they name as it
  // resolves them (bootstrap-sales-rounds-by-work), so the phase's own Get step finds none left.
  expect(result.progress.phases.opportunities!.records).toBe(seeded.roles);
  // Companies and salespersons count every record they brought in, whether the lead ingest loaded
  // it for a batch's persons or the phase itself did.
  expect(result.progress.phases.companies!.records).toBe(seeded.companies);
  expect(result.progress.phases.salesPersons!.records).toBe(seeded.salespersons);

  expect(await count('accounts')).toBe(seeded.companies);
  expect(await count('users')).toBe(seeded.salespersons);
  expect(await count('opportunities')).toBe(seeded.opportunities);
  expect(await count('opportunity_contact_roles')).toBe(seeded.roles);
  // Every seeded lead has a company (so is a contact) and a salesperson: all linked, to the right ones.
  expect(await count('contacts', 'account_id IS NULL OR owner_id IS NULL')).toBe(0);
  const sub = h.emulator.subscription;
  const { rows } = await h.crm.pool.query<{ marketo_lead_id: string; ext_company: string; ext_owner: string }>(
    `SELECT c.marketo_lead_id, a.external_company_id AS ext_company, u.external_sales_person_id AS ext_owner
     FROM crm.contacts c JOIN crm.accounts a ON a.id = c.account_id JOIN crm.users u ON u.id = c.owner_id`,
  );
  expect(rows).toHaveLength(LEADS);
  for (const r of rows) {
    expect(r.ext_company).toBe(sub.leads.value(Number(r.marketo_lead_id), 'externalCompanyId'));
    expect(r.ext_owner).toBe(sub.leads.value(Number(r.marketo_lead_id), 'externalSalesPersonId'));
  }
  expect(await count('opportunities', 'account_id IS NULL OR owner_id IS NULL')).toBe(0);
  expect(await count('opportunity_contact_roles', 'marketo_guid IS NULL')).toBe(0);

  const report = await reconcile({ marketo: h.marketo, crm: h.crm, store: h.store }, { entities: ['persons', 'companies', 'salespersons', 'opportunities', 'roles'], since: SINCE, until: HIGH, maxWindowDays: 31, pollIntervalMs: 100 });
  const differing = report.entities.filter((e) => !e.ok).map((e) => ({ entity: e.entity, missingInCrm: e.missingInCrm, missingInMarketo: e.missingInMarketo, mismatched: e.mismatched, duplicates: e.duplicates }));
  expect(differing).toEqual([]);
  expect(report.differences).toBe(0);
  expect(Object.fromEntries(report.entities.map((e) => [e.entity, e.matched]))).toEqual({ persons: LEADS, companies: seeded.companies, salespersons: seeded.salespersons, opportunities: seeded.opportunities, roles: seeded.roles });

  for (const entity of Object.keys(ALL)) expect((await h.store.watermarks.get(marketoStream(entity)))?.watermark?.toISOString()).toBe('2024-05-01T00:00:00.000Z');

  // The full run's history replays on today's code; RECORD_HISTORIES=1 stores it for replay.test.ts.
  const history = await env.client.workflow.getHandle('bootstrap-sales').fetchHistory();
  await Worker.runReplayHistory(workflowCode(), history, 'bootstrap-sales');
  if (process.env.RECORD_HISTORIES === '1') await writeFile(new URL('./histories/bootstrap-sales.pb', import.meta.url), proto.temporal.api.history.v1.History.encode(history).finish());
});

test('a second load of the same data writes every record again in place: nothing duplicated', async () => {
  const before = await Promise.all(['accounts', 'users', 'opportunities', 'opportunity_contact_roles', 'contacts'].map((t) => count(t)));
  const result = await run('bootstrap-sales-again', ALL);
  expect(result.progress.state).toBe('done');
  expect(result.progress.phases.companies!.written).toBeGreaterThan(0);
  expect(await Promise.all(['accounts', 'users', 'opportunities', 'opportunity_contact_roles', 'contacts'].map((t) => count(t)))).toEqual(before);
});

test('an entity without a phase, or roles without opportunities, is refused before anything runs', async () => {
  await expect(run('bootstrap-roles-alone', { leads: { enabled: true }, opportunityRoles: { enabled: true } })).rejects.toThrow();
  const handle = env.client.workflow.getHandle('bootstrap-roles-alone');
  expect((await handle.fetchHistory()).events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
});
