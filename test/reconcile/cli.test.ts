import { json, runCli } from '../cli/support.js';
import type { LeadIdSetReport, ReconcileResult } from '../../src/reconcile/index.js';
import { mirrorIntoCrm, startReconcileHarness, type ReconcileHarness } from './support.js';

// `marketo-sync reconcile` spawned as a user runs it, against the emulator and a Postgres CRM:
// exit 0 with no differences, 3 with differences (table or JSON), 2 on bad options, 1 when
// Marketo cannot be reached.
let h: ReconcileHarness;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startReconcileHarness({ programs: 0, lists: 0, customObjects: 0 });
  await mirrorIntoCrm(h);
  env = {
    MARKETO_BASE_URL: h.emulator.url,
    MARKETO_CLIENT_ID: 'rc-id',
    MARKETO_CLIENT_SECRET: 'rc-secret',
    MARKETO_LIMITER: 'process',
    DATABASE_URL: h.db.url,
  };
});

afterAll(async () => {
  await h?.close();
});

const fast = () => ['--since', h.since, '--poll-interval', '50'];

test('no differences: exit 0 and one JSON document with a report per entity', async () => {
  const run = await runCli(['reconcile', '--entities', 'persons,companies,salespersons,opportunities,roles', '--json', ...fast()], env);
  expect(run.code).toBe(0);
  const result = json<ReconcileResult>(run);
  expect(result.ok).toBe(true);
  expect(result.entities.map((e) => e.entity)).toEqual(['persons', 'companies', 'salespersons', 'opportunities', 'roles']);
  expect(result.entities.find((e) => e.entity === 'persons')!.matched).toBe(h.emulator.seedSummary!.leads);
  expect(result.apiCalls).toBeGreaterThan(0);
});

test('differences: exit 3 and a table naming the records and fields (values with --show-values)', async () => {
  await h.crm.pool.query(`UPDATE crm.accounts SET industry = 'Changed Industry' WHERE external_company_id = 'EXT-C-2'`);
  await h.crm.pool.query(`INSERT INTO crm.accounts (name, external_company_id) VALUES ('Gone Co', 'EXT-C-GONE')`);
  const run = await runCli(['reconcile', '--entities', 'companies', '--show-values', ...fast()], env);
  expect(run.code).toBe(3);
  expect(run.stdout).toMatch(/^entity\s+marketo\s+crm\s+matched\s+missing in CRM\s+missing in Marketo\s+mismatched\s+duplicates\s+API calls$/m);
  expect(run.stdout).toMatch(/^companies\s+5\s+6\s+4\s+0\s+1\s+1\s+0\s+\d+$/m);
  expect(run.stdout).toContain('missing in Marketo (1): EXT-C-GONE');
  expect(run.stdout).toMatch(/EXT-C-2: industry \(Marketo "[^"]+" \/ CRM "Changed Industry"\)/);
  expect(run.stdout).toContain('2 difference(s)');
  // Progress goes to stderr, one line per step.
  expect(run.stderr).toContain('reconcile: comparing companies');
  expect(run.stderr).toMatch(/reconcile: lead export 1\/2 /);
});

test('lead id sets: exit 3 naming the CRM person Marketo no longer has', async () => {
  await h.crm.upsert('lead', [{ marketo_lead_id: 99_999_999, last_name: 'Ghost', email: 'ghost@example.com' }], { keyField: 'marketo_lead_id' });
  const run = await runCli(['reconcile', '--lead-ids', '--json', ...fast()], env);
  expect(run.code).toBe(3);
  expect(json<LeadIdSetReport>(run)).toMatchObject({ marketo: h.emulator.seedSummary!.leads, missingInMarketo: [99_999_999], missingInCrm: [], duplicates: [], ok: false });
});

test('bad options exit 2 naming the option; an unreachable Marketo exits 1', async () => {
  const bad = await runCli(['reconcile', '--entities', 'leads,companies'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--entities');

  const down = await runCli(['reconcile', '--entities', 'companies', '--json', ...fast()], { ...env, MARKETO_BASE_URL: 'http://127.0.0.1:9' });
  expect(down.code).toBe(1);
  expect(json<{ exitCode: number }>(down).exitCode).toBe(1);
});
