import { reconcile, type EntityReport, type ReconcileResult } from '../../src/reconcile/index.js';
import { FAST, MIRRORED_ACTIVITY_TYPES, mirrorIntoCrm, mirrorMarketingIntoCrm, startReconcileHarness, type ReconcileHarness } from './support.js';

// Custom objects, programs and static lists with their membership, and activities: mirrored into
// the CRM with the bootstrap's record builders they must reconcile clean; then differences made
// on either side must be reported exactly. Duplicates are tested where a key can be held twice:
// membership rows (the (program|list, lead) pair under another marketo_key). Program, list,
// custom-object and activity keys are unique on both sides (Marketo ids; UNIQUE columns in the CRM).
let h: ReconcileHarness;
const ENTITIES = ['customObjects', 'programs', 'staticLists', 'activities'] as const;

beforeAll(async () => {
  h = await startReconcileHarness();
  await mirrorIntoCrm(h);
  await mirrorMarketingIntoCrm(h);
});

afterAll(async () => {
  await h?.close();
});

function entity(result: ReconcileResult, name: string): EntityReport {
  const r = result.entities.find((e) => e.entity === name);
  if (!r) throw new Error(`no report for ${name} (have ${result.entities.map((e) => e.entity).join(', ')})`);
  return r;
}

const run = (extra: Parameters<typeof reconcile>[1] = {}) =>
  reconcile({ marketo: h.marketo, crm: h.crm, store: h.store }, { entities: [...ENTITIES], since: h.since, activityTypeIds: MIRRORED_ACTIVITY_TYPES, ...FAST, ...extra });

const q = (sql: string, params: unknown[] = []) => h.crm.pool.query(sql, params);

test('the Marketo-only objects mirrored by the bootstrap builders reconcile with zero differences', async () => {
  const result = await run();
  const seeded = h.emulator.seedSummary!;
  for (const r of result.entities) expect({ entity: r.entity, differences: r.differences, mismatched: r.mismatched.sample, notes: r.notes }).toMatchObject({ entity: r.entity, differences: 0 });
  expect(result.entities.map((e) => e.entity)).toEqual(['customObject:purchase_c', 'programs', 'programMembers', 'staticLists', 'listMembers', 'activities']);
  expect(entity(result, 'customObject:purchase_c')).toMatchObject({ marketo: seeded.customObjects, matched: seeded.customObjects });
  expect(entity(result, 'programs')).toMatchObject({ marketo: seeded.programs, matched: seeded.programs });
  expect(entity(result, 'staticLists')).toMatchObject({ marketo: seeded.lists, matched: seeded.lists });
  const members = Number((await q('SELECT count(*) AS n FROM crm.campaign_members')).rows[0].n);
  expect(members).toBeGreaterThan(0);
  expect(entity(result, 'programMembers')).toMatchObject({ marketo: members, crm: members, matched: members });
  const activities = entity(result, 'activities');
  expect(activities.matched).toBeGreaterThan(0);
  expect(Object.keys(activities.breakdown!).sort()).toEqual(MIRRORED_ACTIVITY_TYPES.map(String).sort());
  for (const counts of Object.values(activities.breakdown!)) expect(counts.marketo).toBe(counts.crm);
  expect(result.ok).toBe(true);
});

test('differences of every kind in custom objects, programs, lists, membership and activities are reported exactly', async () => {
  const sub = h.emulator.subscription;
  const leadIds = [...sub.leads.ids()];
  const program = [...sub.programs.values()][0]!;
  const list = [...sub.lists.values()][0]!;
  const outsider = leadIds.find((id) => !program.members.has(id) && !list.members.has(id))!;

  // Marketo side: new records the CRM lacks.
  const created = await h.marketo.customObject('purchase_c').sync({ action: 'createOnly', input: [{ purchaseId: 'PUR-NEW', leadId: leadIds[0], product: 'Pro', amount: 10 }] });
  expect(created[0]!.status).toBe('created');
  const newProgram = sub.createProgram({ name: 'New Program' });
  const newList = sub.createList({ name: 'New List' });
  expect(sub.setProgramStatus(program.id, outsider, program.statuses[1]!)).toBe('created');
  sub.addToList(list.id, [outsider]);

  // CRM side: records Marketo lacks, changed fields, second rows under one membership key.
  await q(`INSERT INTO crm.co_purchase (purchase_id, product) VALUES ('PUR-GONE', 'Gone')`);
  await q(`UPDATE crm.co_purchase SET product = 'Changed' WHERE purchase_id = 'PUR-1'`);
  await q(`INSERT INTO crm.campaigns (marketo_program_id, name) VALUES (999999, 'Gone Program')`);
  await q(`UPDATE crm.campaigns SET name = 'Changed Program' WHERE marketo_program_id = $1`, [program.id]);
  const member = (await q(`SELECT marketo_lead_id, campaign_id FROM crm.campaign_members WHERE marketo_program_id = $1 ORDER BY marketo_lead_id LIMIT 2`, [program.id])).rows as { marketo_lead_id: string; campaign_id: string }[];
  await q(`INSERT INTO crm.campaign_members (marketo_key, campaign_id, marketo_program_id, marketo_lead_id, status) VALUES ('gone', $2, $1, 99999999, 'Gone')`, [program.id, member[0]!.campaign_id]);
  await q(`UPDATE crm.campaign_members SET status = 'Changed' WHERE marketo_program_id = $1 AND marketo_lead_id = $2`, [program.id, member[0]!.marketo_lead_id]);
  await q(`INSERT INTO crm.campaign_members (marketo_key, campaign_id, marketo_program_id, marketo_lead_id, status) SELECT 'dup', campaign_id, marketo_program_id, marketo_lead_id, status FROM crm.campaign_members WHERE marketo_program_id = $1 AND marketo_lead_id = $2`, [program.id, member[1]!.marketo_lead_id]);
  await q(`INSERT INTO crm.static_lists (marketo_list_id, name) VALUES (999999, 'Gone List')`);
  await q(`UPDATE crm.static_lists SET name = 'Changed List' WHERE marketo_list_id = $1`, [list.id]);
  const listMember = (await q(`SELECT marketo_lead_id, static_list_id FROM crm.list_members WHERE marketo_list_id = $1 ORDER BY marketo_lead_id LIMIT 2`, [list.id])).rows as { marketo_lead_id: string; static_list_id: string }[];
  const otherList = (await q(`SELECT id FROM crm.static_lists WHERE marketo_list_id <> $1 AND marketo_list_id <> 999999 LIMIT 1`, [list.id])).rows[0] as { id: string };
  await q(`INSERT INTO crm.list_members (marketo_key, static_list_id, marketo_list_id, marketo_lead_id) VALUES ('gone', $2, $1, 99999999)`, [list.id, listMember[0]!.static_list_id]);
  await q(`UPDATE crm.list_members SET static_list_id = $3 WHERE marketo_list_id = $1 AND marketo_lead_id = $2`, [list.id, listMember[0]!.marketo_lead_id, otherList.id]);
  await q(`INSERT INTO crm.list_members (marketo_key, static_list_id, marketo_list_id, marketo_lead_id) SELECT 'dup', static_list_id, marketo_list_id, marketo_lead_id FROM crm.list_members WHERE marketo_list_id = $1 AND marketo_lead_id = $2`, [list.id, listMember[1]!.marketo_lead_id]);
  const activity = (await q(`SELECT marketo_guid FROM crm.marketing_activities WHERE activity_type_id = 24 ORDER BY marketo_guid LIMIT 1`)).rows[0] as { marketo_guid: string };
  await q(`UPDATE crm.marketing_activities SET primary_attribute_value = 'Changed' WHERE marketo_guid = $1`, [activity.marketo_guid]);
  await q(`INSERT INTO crm.marketing_activities (marketo_guid, activity_type_id, activity_date, marketo_lead_id) VALUES ('GONE-1', 24, now() - interval '1 day', 99999999)`);

  const result = await run();
  const summary = (name: string) => {
    const r = entity(result, name);
    return { missingInCrm: r.missingInCrm.sample, missingInMarketo: r.missingInMarketo.sample, mismatched: r.mismatched.sample, duplicates: r.duplicates.sample.map((d) => `${d.side}:${d.key}`) };
  };
  expect(summary('customObject:purchase_c')).toEqual({ missingInCrm: ['PUR-NEW'], missingInMarketo: ['PUR-GONE'], mismatched: [{ key: 'PUR-1', fields: ['product'] }], duplicates: [] });
  expect(summary('programs')).toEqual({ missingInCrm: [String(newProgram.id)], missingInMarketo: ['999999'], mismatched: [{ key: String(program.id), fields: ['name'] }], duplicates: [] });
  expect(summary('programMembers')).toEqual({
    missingInCrm: [`${program.id}:${outsider}`],
    missingInMarketo: [`${program.id}:99999999`],
    mismatched: [{ key: `${program.id}:${member[0]!.marketo_lead_id}`, fields: ['status'] }],
    duplicates: [`crm:${program.id}:${member[1]!.marketo_lead_id}`],
  });
  // Adding a member moved the list's updatedAt in Marketo: a change stamp, not a difference (the member is one).
  expect(summary('staticLists')).toEqual({ missingInCrm: [String(newList.id)], missingInMarketo: ['999999'], mismatched: [{ key: String(list.id), fields: ['name'] }], duplicates: [] });
  expect(summary('listMembers')).toEqual({
    missingInCrm: [`${list.id}:${outsider}`],
    missingInMarketo: [`${list.id}:99999999`],
    mismatched: [{ key: `${list.id}:${listMember[0]!.marketo_lead_id}`, fields: ['static_list_id'] }],
    duplicates: [`crm:${list.id}:${listMember[1]!.marketo_lead_id}`],
  });
  // The list add and the status change logged one activity each, which the CRM does not have.
  const activities = summary('activities');
  expect(activities.missingInCrm).toHaveLength(2);
  expect(activities).toMatchObject({ missingInMarketo: ['GONE-1'], mismatched: [{ key: activity.marketo_guid, fields: ['primary_attribute_value'] }], duplicates: [] });
  expect(entity(result, 'activities').breakdown!['24']!.crm).toBe(entity(result, 'activities').breakdown!['24']!.marketo);
  expect(result.differences).toBe(3 + 3 + 4 + 3 + 4 + 4);
});
