import { readFile, writeFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { workflowCode } from '../../workers/worker.js';
import { configureBulk } from '../../emulator/bulk/service.js';
import { reconcile } from '../../src/reconcile/index.js';
import type { BootstrapInput, BootstrapResult } from '../../workflows/bootstrap-types.js';
import { bootstrapProgressQuery } from '../../workflows/bootstrap-signals.js';
import { bootstrap } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { FAST_POLL } from './support.js';

// The sales follower phases (companies, salespersons, roles) on the dev server with
// `bootstrap-sales-rounds-by-work`: a follower round is one activity and runs only when its
// upstream loaded something (and then a bounded number of times), roles follow the Add to
// Opportunity windows, whose sink loads the opportunities they name; the last round after the
// exports still finds everything, here the persons of a lead ingest whose company Gets all failed.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const FROM = '2024-01-01T00:00:00Z';
const TO = '2024-04-30T00:00:00Z';
const SINCE = '2023-12-01T00:00:00Z';
const HIGH = '2024-05-01T00:00:00Z';
const LEADS = 400;
/** 300 opportunities × 3 roles: several Gets of 300 roles, so rounds before the last take some. */
const SEED = { leads: LEADS, companies: 20, salespersons: 6, opportunities: 300, rolesPerOpportunity: 3, programs: 0, lists: 0, customObjects: 0, from: FROM, to: TO };
/** 20-day windows: 8 lead and 8 Add to Opportunity exports, more windows than rounds can follow one by one. */
const WINDOW_DAYS = 20;
const ALL = { leads: { enabled: true }, companies: { enabled: true }, opportunities: { enabled: true }, opportunityRoles: { enabled: true }, salesPersons: { enabled: true } };

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await harness();
});

async function harness(): Promise<WorkflowHarness> {
  const started = await startHarness(env.nativeConnection, { emulator: { seed: SEED } });
  await configureBulk(started.emulator.subscription, { export: { rowsPerSecond: 5_000 } });
  return started;
}

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const input = (entities: BootstrapInput['entities'], maxWindowDays = WINDOW_DAYS): BootstrapInput => ({ since: SINCE, highWatermark: HIGH, entities, maxWindowDays, poll: FAST_POLL });
const count = async (table: string, where = 'true', on = h) => Number((await on.crm.pool.query<{ n: string }>(`SELECT count(*) AS n FROM crm.${table} WHERE ${where}`)).rows[0]!.n);

/** What the parent's history shows, in order: each completed activity (type, result) and each finished child. */
type Step = { type: string; result: unknown } | { child: string };
async function steps(workflowId: string): Promise<Step[]> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const converter = env.client.options.loadedDataConverter.payloadConverter;
  const types = new Map<string, string>();
  const out: Step[] = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const payload = done.result?.payloads?.[0];
      out.push({ type: types.get(String(done.scheduledEventId)) ?? '?', result: payload ? converter.fromPayload(payload) : undefined });
    }
    const child = e.childWorkflowExecutionCompletedEventAttributes;
    if (child) out.push({ child: child.workflowExecution?.workflowId ?? '?' });
  }
  return out;
}

async function differences(entities: ('persons' | 'companies' | 'salespersons' | 'opportunities' | 'roles')[], on = h) {
  const report = await reconcile({ marketo: on.marketo, crm: on.crm, store: on.store }, { entities, since: SINCE, until: HIGH, maxWindowDays: 31, pollIntervalMs: 100 });
  return { differing: report.entities.filter((e) => !e.ok).map((e) => e.entity), differences: report.differences, matched: Object.fromEntries(report.entities.map((e) => [e.entity, e.matched])) };
}

test('with the preload linking every person, the followers take a few rounds of one activity each and everything reconciles', async () => {
  const seeded = h.emulator.seedSummary!;
  const workflowId = 'bootstrap-sales-rounds';
  const result: BootstrapResult = await env.client.workflow.execute(bootstrap, { taskQueue: h.taskQueue, workflowId, args: [input(ALL)] });
  expect(result.progress.state).toBe('done');
  const phases = result.progress.phases;
  for (const name of Object.keys(ALL)) expect(phases[name]).toMatchObject({ state: 'done', failed: 0 });
  expect(phases.leads!.windowsTotal).toBe(8);

  // Before the marker the companies and salespersons phases ran ≥ 3 and ≥ 4 load/link steps per
  // upstream window that landed (≥ 48 and ≥ 64 here; 108 and 132 in the 200k bench run). Now:
  // at most 10 rounds while the exports run plus the last one, one activity each (roles: one
  // step per round at this size).
  for (const name of ['companies', 'salesPersons', 'opportunityRoles']) expect(phases[name]!.windowsTotal).toBeLessThanOrEqual(11);
  const history = await steps(workflowId);
  const runs = (type: string) => history.filter((a): a is { type: string; result: unknown } => 'type' in a && a.type === type);
  expect(runs('runFollowerRound').length).toBe(phases.companies!.windowsTotal + phases.salesPersons!.windowsTotal);
  expect(runs('loadOpportunityRoles').length).toBe(phases.opportunityRoles!.windowsTotal);
  expect(runs('linkSalesReferences')).toEqual([]);
  // The Add to Opportunity sink loaded every opportunity: the phase's Get by external id after
  // its last window found nothing left.
  expect(runs('loadSalesObjects').map((a) => a.result)).toEqual([expect.objectContaining({ taken: 0, apiCalls: 0 })]);
  // Roles ran alongside the opportunities phase (before its Get step after the last window),
  // taking whole Gets of 300 while windows still landed: no more Gets than one load at the end.
  const roleSteps = runs('loadOpportunityRoles').map((a) => a.result as { taken: number; written: number; apiCalls: number });
  expect(roleSteps.reduce((n, r) => n + r.written, 0)).toBe(seeded.roles);
  expect(roleSteps.reduce((n, r) => n + r.apiCalls, 0)).toBe(Math.ceil(seeded.roles / 300));
  expect(history.findIndex((s) => 'type' in s && s.type === 'loadOpportunityRoles')).toBeLessThan(history.findIndex((s) => 'type' in s && s.type === 'loadSalesObjects'));
  const lastWindow = history.findLastIndex((s) => 'child' in s && s.child.startsWith(`${workflowId}/opportunities/`));
  const whileLanding = history.slice(0, lastWindow).filter((s) => 'type' in s && s.type === 'loadOpportunityRoles');
  expect(whileLanding.map((s) => (s as { result: { taken: number } }).result.taken % 300)).toEqual(whileLanding.map(() => 0));

  expect(await count('accounts')).toBe(seeded.companies);
  expect(await count('users')).toBe(seeded.salespersons);
  expect(await count('opportunities')).toBe(seeded.opportunities);
  expect(await count('opportunity_contact_roles')).toBe(seeded.roles);
  expect(await count('contacts', 'account_id IS NULL OR owner_id IS NULL')).toBe(0);
  expect(await count('opportunities', 'account_id IS NULL OR owner_id IS NULL')).toBe(0);
  // The preload wrote every person linked: no person was staged for a link step.
  const staged = await h.store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${h.store.schema}.bootstrap_person_refs WHERE run_id = $1`, [workflowId]);
  expect(staged.rows[0]!.n).toBe(0);

  const report = await differences(['persons', 'companies', 'salespersons', 'opportunities', 'roles']);
  expect(report).toEqual({ differing: [], differences: 0, matched: { persons: LEADS, companies: seeded.companies, salespersons: seeded.salespersons, opportunities: seeded.opportunities, roles: seeded.roles } });

  // This run's history (with the marker) and the recorded one replay on today's code;
  // RECORD_HISTORIES=1 stores this one as histories/bootstrap-sales-rounds.pb.
  const History = proto.temporal.api.history.v1.History;
  const events = await env.client.workflow.getHandle(workflowId).fetchHistory();
  if (process.env.RECORD_HISTORIES === '1') await writeFile(new URL('./histories/bootstrap-sales-rounds.pb', import.meta.url), History.encode(events).finish());
  const recorded = History.decode(await readFile(new URL('./histories/bootstrap-sales-rounds.pb', import.meta.url)));
  await Worker.runReplayHistory(workflowCode(), events, workflowId);
  await Worker.runReplayHistory(workflowCode(), recorded, workflowId);
});

test('when every company Get of the lead ingest fails, the last round loads the companies and links every person', async () => {
  // A fresh CRM: the first test's run left every person linked already.
  const h2 = await harness();
  try {
  const seeded = h2.emulator.seedSummary!;
  const workflowId = 'bootstrap-sales-rounds-preload-down';
  const entities = { leads: { enabled: true }, companies: { enabled: true }, salesPersons: { enabled: true } };
  const fault = h2.emulator.runtime.faults.add({ path: '/rest/v1/companies.json', method: 'GET', code: '611' });
  const handle = await env.client.workflow.start(bootstrap, { taskQueue: h2.taskQueue, workflowId, args: [input(entities, 31)] });
  // Marketo answers again once the leads are in: the companies phase's last round finds it up.
  for (;;) {
    const progress = await handle.query(bootstrapProgressQuery);
    if (progress.phases.leads!.state !== 'running' && progress.phases.leads!.state !== 'pending') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  h2.emulator.runtime.faults.remove(fault.id!);
  const result = await handle.result();
  expect(result.progress.state).toBe('done');
  expect(result.progress.phases.companies).toMatchObject({ state: 'done', failed: 0, records: seeded.companies });

  // Every contact was staged for the link step (its company was never loaded by the preload)...
  const staged = await h2.store.pool.query<{ n: number; linked: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE account_linked)::int AS linked FROM ${h2.store.schema}.bootstrap_person_refs WHERE run_id = $1`,
    [workflowId],
  );
  expect(staged.rows[0]).toEqual({ n: LEADS, linked: LEADS });
  // ...and with no opportunities to follow, the companies phase ran only its last round.
  expect(result.progress.phases.companies!.windowsTotal).toBe(1);
  expect(await count('contacts', 'account_id IS NULL OR owner_id IS NULL', h2)).toBe(0);
  const report = await differences(['persons', 'companies', 'salespersons'], h2);
  expect(report).toEqual({ differing: [], differences: 0, matched: { persons: LEADS, companies: seeded.companies, salespersons: seeded.salespersons } });
  } finally {
    await h2.close();
  }
});
