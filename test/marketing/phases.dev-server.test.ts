import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { configureBulk } from '../../emulator/bulk/service.js';
import { SEED_CUSTOM_OBJECT } from '../../emulator/seed.js';
import { marketoStream } from '../../activities/bootstrap.js';
import type { BootstrapInput } from '../../workflows/bootstrap-types.js';
import { bootstrap } from '../../workflows/index.js';
import { workflowCode } from '../../workers/worker.js';
import { createDevServerEnv } from '../support/temporal.js';
import { FAST_POLL, saveMappingWithPurchases, startMarketingHarness, type MarketingHarness } from './support.js';

// The marketing phases through the real bootstrap parent on the dev server: emulator exports
// (custom objects, program members, activities) and REST reads (programs, lists, list members)
// into the Postgres CRM, checked row by row against the emulator's own state.
let env: TestWorkflowEnvironment;
let h: MarketingHarness;
// One 31-day window per dated export keeps the file fast; windowing is the parent's (tested there).
const FROM = '2024-01-02T00:00:00Z';
const TO = '2024-01-28T00:00:00Z';
const SINCE = '2024-01-01T00:00:00Z';
const HIGH = '2024-01-31T00:00:00Z';
const SELECTED_TYPES = [24, 104]; // Add to List, Change Status in Progression
const LONG_NAME = 'P'.repeat(300);

const q = async <T extends Record<string, unknown>>(sql: string): Promise<T[]> => (await h.crm.pool.query<T>(sql)).rows;
const sec = (iso: string) => Date.parse(iso) / 1000;

function input(entities: BootstrapInput['entities']): BootstrapInput {
  return { since: SINCE, highWatermark: HIGH, entities, poll: FAST_POLL };
}

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startMarketingHarness(env.nativeConnection, {
    seed: { leads: 300, from: FROM, to: TO, programs: 12, lists: 3, customObjects: 25, membershipRate: 0.1 },
  });
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 5_000 } });
  await saveMappingWithPurchases(h);
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

test('custom objects, programs, lists and the selected activity types land once in the CRM, matching Marketo', async () => {
  const sub = h.emulator.subscription;
  // A program the CRM cannot hold (campaign names are varchar(255)): one ledger entry, the rest goes on.
  const bad = sub.createProgram({ name: LONG_NAME, createdAt: sec(FROM) });
  // A purchase whose amount no CRM currency column holds (numeric(18,2)): refused alone, in the ledger.
  const purchaseType = sub.objectType(SEED_CUSTOM_OBJECT)!;
  const leadId = [...sub.iterateObjects(SEED_CUSTOM_OBJECT)][0]!.values.leadId!;
  sub.createObject(purchaseType, { purchaseId: 'PUR-HUGE', leadId, product: 'Pro', amount: 1e20, purchaseDate: '2024-01-10T00:00:00Z' }, sec('2024-01-10T00:00:00Z'), undefined, false);
  const result = await env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: 'marketing-1',
    args: [input({ leads: { enabled: true }, customObjects: { enabled: true }, programs: { enabled: true }, staticLists: { enabled: true }, activities: { enabled: true, activityTypeIds: SELECTED_TYPES } })],
  });
  expect(result.progress.state).toBe('done');
  for (const name of ['customObjects', 'programs', 'staticLists', 'activities']) expect(result.progress.phases[name]?.state).toBe('done');

  // Programs → campaigns, keyed on the program id, every field from the asset API.
  const programs = [...sub.programs.values()].filter((p) => p.id !== bad.id);
  const campaigns = await q<{ id: string; marketo_program_id: number; name: string; program_type: string; status: string | null; marketo_created_at: string }>('SELECT * FROM crm.campaigns ORDER BY marketo_program_id');
  expect(campaigns.map((c) => c.marketo_program_id)).toEqual(programs.map((p) => p.id).sort((a, b) => a - b));
  for (const c of campaigns) {
    const p = sub.programs.get(c.marketo_program_id)!;
    expect({ name: c.name, type: c.program_type, status: c.status, created: Date.parse(String(c.marketo_created_at)) / 1000 }).toEqual({ name: p.name, type: p.type, status: p.status || null, created: p.createdAt });
  }
  const ledger = await h.store.errors.list({});
  expect(ledger.map((e) => `${e.entity} ${e.recordKey}`).sort()).toEqual([`campaign ${bad.id}`, 'custom:purchase PUR-HUGE']);
  expect(ledger.find((e) => e.entity === 'campaign')).toMatchObject({ code: 'INVALID_RECORD', source: 'marketo', reason: expect.stringMatching(/name is 300 characters/) });

  // Program membership → campaign members: exactly Marketo's pairs, linked to campaign and person.
  const members = await q<{ marketo_key: string; campaign_id: string; status: string; is_success: boolean; membership_date: string; lead_id: string | null; contact_id: string | null }>('SELECT * FROM crm.campaign_members');
  const expectedMembers = new Map<string, { status: string; success: boolean; at: number; programId: number }>();
  for (const p of programs) for (const [leadId, m] of p.members) expectedMembers.set(`${p.id}:${leadId}`, { status: m.progressionStatus, success: m.reachedSuccess, at: m.membershipDate, programId: p.id });
  expect(expectedMembers.size).toBeGreaterThan(100);
  expect(members.map((m) => m.marketo_key).sort()).toEqual([...expectedMembers.keys()].sort());
  const campaignOf = new Map(campaigns.map((c) => [c.marketo_program_id, c.id]));
  for (const m of members) {
    const e = expectedMembers.get(m.marketo_key)!;
    expect({ status: m.status, success: m.is_success, at: Date.parse(String(m.membership_date)) / 1000, campaign: m.campaign_id }).toEqual({ status: e.status, success: e.success, at: e.at, campaign: campaignOf.get(e.programId) });
    expect(m.lead_id === null).not.toBe(m.contact_id === null);
  }
  // 12 good programs: two member exports (10 + 2 programs).
  expect(result.progress.phases.programs!.windowsDone).toBe(2);

  // Static lists and their members (REST), each member linked to its list and person.
  const lists = await q<{ id: string; marketo_list_id: number; name: string }>('SELECT * FROM crm.static_lists ORDER BY marketo_list_id');
  expect(lists.map((l) => [l.marketo_list_id, l.name])).toEqual([...sub.lists.values()].map((l) => [l.id, l.name]));
  const listMembers = await q<{ marketo_key: string; static_list_id: string; lead_id: string | null; contact_id: string | null }>('SELECT * FROM crm.list_members');
  const expectedListMembers = [...sub.lists.values()].flatMap((l) => [...l.members].map((id) => `${l.id}:${id}`));
  expect(listMembers.map((m) => m.marketo_key).sort()).toEqual(expectedListMembers.sort());
  const listOf = new Map(lists.map((l) => [String(l.marketo_list_id), l.id]));
  for (const m of listMembers) {
    expect(m.static_list_id).toBe(listOf.get(m.marketo_key.split(':')[0]!));
    expect(m.lead_id === null).not.toBe(m.contact_id === null);
  }

  // Custom objects: the table was provisioned, every record upserted on its dedupe key.
  const purchases = await q<{ purchase_id: string; marketo_guid: string; product: string; amount: string; marketo_lead_id: number; lead_id: string | null; contact_id: string | null }>('SELECT * FROM crm.co_purchase');
  const records = [...sub.iterateObjects(SEED_CUSTOM_OBJECT)].filter((r) => r.values.purchaseId !== 'PUR-HUGE');
  expect(records).toHaveLength(25);
  expect(purchases.map((p) => p.purchase_id).sort()).toEqual(records.map((r) => String(r.values.purchaseId)).sort());
  const byKey = new Map(records.map((r) => [String(r.values.purchaseId), r]));
  for (const p of purchases) {
    const r = byKey.get(p.purchase_id)!;
    expect({ guid: p.marketo_guid, product: p.product, amount: Number(p.amount), lead: Number(p.marketo_lead_id) }).toEqual({ guid: r.marketoGUID, product: r.values.product, amount: r.values.amount, lead: r.values.leadId });
    expect(p.lead_id === null).not.toBe(p.contact_id === null);
  }

  // Activities of the selected types only, every one in [since, high watermark], linked to people.
  const activities = await q<{ marketo_guid: string; activity_type_id: number; activity_type: string; lead_id: string | null; contact_id: string | null; attributes: string }>('SELECT * FROM crm.marketing_activities');
  const expectedActivities = [...sub.activitiesBetween(sec(SINCE), sec(HIGH) + 1, SELECTED_TYPES)];
  expect(expectedActivities.length).toBeGreaterThan(100);
  expect(activities.map((a) => a.marketo_guid).sort()).toEqual(expectedActivities.map((a) => a.marketoGUID).sort());
  expect(new Set(activities.map((a) => a.activity_type))).toEqual(new Set(['Add to List', 'Change Status in Progression']));
  for (const a of activities) expect(a.lead_id === null).not.toBe(a.contact_id === null);

  // Counts in progress, and the high watermark handed to the sync loop per entity.
  expect(result.progress.phases.activities!.written).toBe(expectedActivities.length);
  expect(result.progress.phases.customObjects).toMatchObject({ records: 26, written: 25, failed: 1 });
  expect(result.progress.phases.staticLists!.written).toBe(lists.length + expectedListMembers.length);
  expect(result.progress.phases.programs!.failed).toBe(1);
  for (const entity of ['customObjects', 'programs', 'staticLists', 'activities']) {
    expect((await h.store.watermarks.get(marketoStream(entity)))?.watermark?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
  }

  // The phases are deterministic: the recorded history replays on the current code.
  const history = await env.client.workflow.getHandle('marketing-1').fetchHistory();
  await Worker.runReplayHistory(workflowCode(), history, 'marketing-1');

  // The parents' loads run under a heartbeat timeout, so a worker killed in one is noticed in
  // seconds, not at the 10-minute start-to-close (which held all three phases).
  const heartbeatSeconds = Object.fromEntries(
    (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a && ['prepareMarketingCustomObjects', 'loadMarketingPrograms', 'loadMarketingStaticLists'].includes(a.activityType?.name ?? ''))
      .map((a) => [a!.activityType!.name!, Number(a!.heartbeatTimeout?.seconds ?? 0)]),
  );
  expect(heartbeatSeconds).toEqual({ prepareMarketingCustomObjects: 30, loadMarketingPrograms: 30, loadMarketingStaticLists: 30 });
  // Window planning is instant: a killed worker's attempt is retried within a minute (its
  // start-to-close, or the sales phases' heartbeat timeout).
  const planning = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes).filter((a) => a?.activityType?.name === 'planExportWindows');
  expect(planning.length).toBeGreaterThan(0);
  for (const a of planning) {
    const limits = [Number(a!.startToCloseTimeout?.seconds ?? Infinity), Number(a!.heartbeatTimeout?.seconds || Infinity)];
    expect(Math.min(...limits)).toBeLessThanOrEqual(60);
  }
});

test('a second load rewrites the same rows (keyed upserts) and picks up changed Marketo values', async () => {
  const counts = async () =>
    (await q<{ c: string; m: string; l: string; lm: string; p: string; a: string }>(
      `SELECT (SELECT count(*) FROM crm.campaigns) c, (SELECT count(*) FROM crm.campaign_members) m, (SELECT count(*) FROM crm.static_lists) l,
              (SELECT count(*) FROM crm.list_members) lm, (SELECT count(*) FROM crm.co_purchase) p, (SELECT count(*) FROM crm.marketing_activities) a`,
    ))[0];
  const before = await counts();
  const program = [...h.emulator.subscription.programs.values()][0]!;
  program.name = 'Renamed in Marketo';
  await env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: 'marketing-2',
    // Leads are already loaded: the marketing phases run from the id map alone.
    args: [input({ customObjects: { enabled: true }, programs: { enabled: true }, staticLists: { enabled: true }, activities: { enabled: true, activityTypeIds: SELECTED_TYPES } })],
  });
  expect(await counts()).toEqual(before);
  expect((await q<{ name: string }>(`SELECT name FROM crm.campaigns WHERE marketo_program_id = ${program.id}`))[0]?.name).toBe('Renamed in Marketo');
});

test('activities without selected types read nothing; Delete Lead is refused before any export', async () => {
  const result = await env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: 'marketing-3',
    args: [input({ activities: { enabled: true } })],
  });
  expect(result.progress.phases.activities).toMatchObject({ state: 'done', windowsTotal: 0, records: 0, apiCalls: 0 });

  const failed = env.client.workflow.execute(bootstrap, {
    taskQueue: h.taskQueue,
    workflowId: 'marketing-4',
    args: [input({ activities: { enabled: true, activityTypeIds: [1, 37] } })],
  });
  await expect(failed).rejects.toBeInstanceOf(WorkflowFailedError);
  await expect(failed).rejects.toMatchObject({ cause: { message: expect.stringMatching(/activity types 37 cannot be bulk exported/) } });
});

test('a program left by a member keeps it unless the load prunes; with pruneMembers the CRM drops exactly that member', async () => {
  const program = [...h.emulator.subscription.programs.values()].find((p) => p.members.size > 1 && p.name.length < 255)!;
  const [leftId] = [...program.members.keys()];
  program.members.delete(leftId!);
  const memberKeys = async () => (await q<{ marketo_key: string }>(`SELECT marketo_key FROM crm.campaign_members WHERE marketo_key LIKE '${program.id}:%'`)).map((m) => m.marketo_key).sort();
  const expected = [...program.members.keys()].map((id) => `${program.id}:${id}`).sort();

  await env.client.workflow.execute(bootstrap, { taskQueue: h.taskQueue, workflowId: 'marketing-5', args: [input({ programs: { enabled: true } })] });
  expect(await memberKeys()).toEqual([...expected, `${program.id}:${leftId}`].sort());

  const pruned = await env.client.workflow.execute(bootstrap, { taskQueue: h.taskQueue, workflowId: 'marketing-6', args: [input({ programs: { enabled: true, pruneMembers: true } })] });
  expect(pruned.progress.phases.programs!.state).toBe('done');
  expect(await memberKeys()).toEqual(expected);
});
