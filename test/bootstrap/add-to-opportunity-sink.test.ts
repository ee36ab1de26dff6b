import { addToOpportunitySink, ADD_TO_OPPORTUNITY } from '../../activities/sinks/add-to-opportunity.js';
import type { ActivityRow } from '../../src/marketo/bulk/rows.js';
import { startMarketingServices, type MarketingHarness } from '../marketing/support.js';

// Add to Opportunity (34) with the attribute names Adobe documents for it (Oppty ID, Is Primary,
// Role): the emulator logs them, the sink resolves Oppty ID (the opportunity's marketoGUID) to the
// externalOpportunityId roles are keyed on, once per opportunity. Real HTTP, real Postgres.
let h: Omit<MarketingHarness, 'taskQueue'>;

beforeAll(async () => {
  h = await startMarketingServices({ seed: { leads: 30, companies: 2, opportunities: 2, rolesPerOpportunity: 3, programs: 0, lists: 0, customObjects: 0 } });
});

afterAll(async () => {
  await h?.close();
});

/** The emulator's activities as the bulk activity export's rows carry them (attributes keyed by name). */
type Row = ActivityRow & { attributes: Record<string, unknown> };
function exportedRows(): Row[] {
  return [...h.emulator.subscription.activitiesBetween(0, 4_102_444_800, [ADD_TO_OPPORTUNITY])].map((a) => ({
    marketoGUID: a.marketoGUID, leadId: a.leadId, activityDate: new Date(a.date * 1000).toISOString(), activityTypeId: a.activityTypeId,
    primaryAttributeValueId: a.primaryAttributeValueId ?? null, primaryAttributeValue: a.primaryAttributeValue ?? null,
    attributes: Object.fromEntries(a.attributes.map((x) => [x.name, x.value])),
  }) as unknown as Row);
}

test('the activity type carries Adobe\'s attribute names, and its primary attribute is the opportunity', async () => {
  const type = (await h.marketo.activities.types()).find((t) => t.id === ADD_TO_OPPORTUNITY)!;
  expect(type.name).toBe('Add to Opportunity');
  expect(type.attributes.map((a) => a.name)).toEqual(['Oppty ID', 'Is Primary', 'Role']);
  const [first] = exportedRows();
  const opp = h.emulator.subscription.findObjects('opportunity', 'marketoGUID', [String(first!.attributes['Oppty ID'])])[0]!.rec;
  expect(first).toMatchObject({ primaryAttributeValueId: opp.num, primaryAttributeValue: opp.values.name });
});

test('the sink stages roles keyed on the external id resolved from Oppty ID, one lookup per opportunity', async () => {
  const sink = addToOpportunitySink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const rows = exportedRows();
  expect(rows.length).toBeGreaterThan(2);
  const gone = { ...rows[0]!, marketoGUID: 'gone-activity', attributes: { 'Oppty ID': '00000000-0000-4000-8000-000000000000', 'Is Primary': false, Role: 'Ghost' } } as Row;
  const ctx = { runId: 'sink-test', source: { kind: 'activities' as const, activityTypeIds: [ADD_TO_OPPORTUNITY] } };
  expect(await sink.write([...rows, gone], ctx)).toEqual({ written: rows.length + 1, failed: 0, apiCalls: 1 });
  // A later batch naming the same opportunities asks Marketo nothing.
  expect(await sink.write(rows, ctx)).toEqual({ written: rows.length, failed: 0, apiCalls: 0 });

  const { rows: staged } = await h.store.pool.query<{ activity_guid: string; external_opportunity_id: string | null; opportunity_guid: string; role: string }>(
    `SELECT activity_guid, external_opportunity_id, opportunity_guid, role FROM ${h.store.schema}.bootstrap_role_refs WHERE run_id = 'sink-test' ORDER BY activity_guid`);
  const sub = h.emulator.subscription;
  const expected = [...rows, gone].map((r) => {
    const guid = String(r.attributes['Oppty ID']);
    const opp = sub.findObjects('opportunity', 'marketoGUID', [guid])[0]?.rec;
    return { activity_guid: String(r.marketoGUID), external_opportunity_id: opp ? String(opp.values.externalOpportunityId) : null, opportunity_guid: guid, role: String(r.attributes.Role) };
  });
  expected.sort((a, b) => (a.activity_guid < b.activity_guid ? -1 : 1));
  expect(staged).toEqual(expected);
  expect(staged.filter((s) => s.external_opportunity_id === null)).toEqual([expect.objectContaining({ activity_guid: 'gone-activity' })]);
});
