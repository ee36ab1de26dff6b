import { activityQueueStream } from '../../src/sync/pull/index.js';
import { callsBetween, startPullHarness, type PullHarness } from './support.js';

/** Seed step 6: activities of the selected types into the CRM `activity` entity, one watermark per queue. */
describe('pull step 6: lead activities', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness({ activityQueues: [{ name: 'lists', typeIds: [24, 25] }, { name: 'programs', typeIds: [104] }] });
  });
  afterAll(async () => {
    await h.close();
  });

  async function activityRows(marketoLeadId: number) {
    const { rows } = await h.store.pool.query(
      `SELECT marketo_guid, activity_type_id, activity_type, lead_id, contact_id, primary_attribute_value, attributes FROM crm.marketing_activities WHERE marketo_lead_id = $1 ORDER BY marketo_guid::int`,
      [marketoLeadId],
    );
    return rows as Record<string, unknown>[];
  }

  it('writes the selected activities linked to the CRM person, and only those', async () => {
    const id = h.createLead({ email: 'acts@else.example' });
    await h.pull.pullLeadsAndCompanies();
    const person = (await h.person(id))!;
    const list = h.emulator.subscription.createList({ name: 'Webinar attendees' });
    h.emulator.subscription.addToList(list.id, [id], 'Web client');
    const program = h.emulator.subscription.createProgram({ name: 'Spring webinar', statuses: ['Not in Program', 'Invited', 'Attended'] });
    h.emulator.subscription.setProgramStatus(program.id, id, 'Invited');
    h.emulator.subscription.editLeadAsUser(id, { title: 'Not an activity the admin selected' });

    const r = await h.pull.pullActivities();
    expect(r).toMatchObject({ step: 'pullActivities', read: 2, written: 2, skipped: 0, hasMore: false });
    const rows = await activityRows(id);
    expect(rows.map((x) => x.activity_type_id)).toEqual([24, 104]);
    expect(rows[0]).toMatchObject({ activity_type: 'Add to List', lead_id: person.record.id, contact_id: null, primary_attribute_value: 'Webinar attendees' });
    // Each queue keeps its own watermark.
    expect(await h.store.watermarks.get(activityQueueStream('lists'))).toBeDefined();
    expect(await h.store.watermarks.get(activityQueueStream('programs'))).toBeDefined();

    // Read again (a retry, or the same second after a restart): the upsert on marketoGUID keeps one row each.
    // (Watermarks never move back through the store's API: the test starts the stream over.)
    await h.store.pool.query(`DELETE FROM sync_state.watermarks WHERE stream = $1`, [activityQueueStream('lists')]);
    await h.store.watermarks.set(activityQueueStream('lists'), { watermark: new Date(h.now().getTime() - 60_000), cursor: JSON.stringify({ v: 1, ids: [] }) });
    expect(await h.pull.pullActivities()).toMatchObject({ read: 1, written: 1 });
    expect(await activityRows(id)).toHaveLength(2);
  });

  it('links activities of a merged-away lead to the winner\'s CRM person', async () => {
    const winner = h.createLead({ email: 'aw@else.example' });
    const loser = h.createLead({ email: 'al@else.example' });
    await h.cycle();
    const list = h.emulator.subscription.createList({ name: 'Late list' });
    h.emulator.subscription.mergeLeads(winner, [loser], 'Web client');
    // A late activity addressed to the loser (Marketo re-homes old ones; this one names the loser).
    h.emulator.subscription.addActivity({ leadId: loser, date: h.emulator.runtime.clock.nowSeconds(), typeId: 24, primaryAttributeValueId: list.id, primaryAttributeValue: list.name, attributes: [] });
    await h.cycle();
    const [row] = await activityRows(loser);
    expect(row).toMatchObject({ lead_id: (await h.person(winner))!.record.id });
  });

  it('costs no call for the queues when idle: they ride along with the lead stream\'s read', async () => {
    await h.cycle();
    const before = h.calls();
    await h.cycle();
    expect(callsBetween(before, h.calls())).toEqual({ 'GET /rest/v1/activities.json': 1, 'GET /rest/v1/activities/deletedleads.json': 1 });

    // Skipped queues still see what arrives next: the lead stream's read shows it, step 6 then reads its queue.
    const id = h.createLead({ email: 'later@else.example' });
    const list = h.emulator.subscription.createList({ name: 'After idle' });
    h.emulator.subscription.addToList(list.id, [id], 'Web client');
    const [, , step6] = await h.cycle();
    expect(step6).toMatchObject({ read: 1, written: 1 });
    expect(await activityRows(id)).toHaveLength(1);
  });
});
