import { jest } from '@jest/globals';
import { LEADS_STREAM } from '../../src/sync/pull/index.js';
import { loadPushContext } from '../../src/sync/push/context.js';
import { callsBetween, startPullHarness, total, type PullHarness } from './support.js';

/** Seed step 4 against the emulator and a Postgres CRM: new and changed leads, echoes, conflicts, boundary seconds, idle cost. */
describe('pull step 4: leads and companies changed in Marketo', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('writes a lead a Marketo user created, and then the user\'s edit, to the CRM', async () => {
    const id = h.createLead({ email: 'new@else.example', firstName: 'Nina', title: 'Buyer' });
    const first = await h.pull.pullLeadsAndCompanies();
    expect(first).toMatchObject({ step: 'pullLeadsAndCompanies', read: 1, written: 1, skipped: 0, hasMore: false, mode: 'rest' });
    expect((await h.person(id))?.record).toMatchObject({ email: 'new@else.example', first_name: 'Nina', title: 'Buyer' });
    expect((await h.store.idMap.byMarketoIds('lead', [String(id)])).get(String(id))).toMatchObject({ crmType: 'lead' });

    h.emulator.subscription.editLeadAsUser(id, { title: 'Head of Buying' });
    const before = h.calls();
    const second = await h.pull.pullLeadsAndCompanies();
    expect(second).toMatchObject({ read: 1, written: 1, mode: 'rest' });
    // The stored paging token resumes the stream: one activity page and one Get Leads call, no new token.
    expect(callsBetween(before, h.calls())).toEqual({ 'GET /rest/v1/activities.json': 1, 'GET /rest/v1/leads.json': 1 });
    expect((await h.person(id))?.record).toMatchObject({ title: 'Head of Buying' });
  });

  it('leaves the watermark where it was when a Marketo call fails, so the retry reads the same changes', async () => {
    const id = h.createLead({ email: 'retry@else.example', firstName: 'Rita' });
    const before = await h.store.watermarks.get(LEADS_STREAM);
    const fault = h.emulator.runtime.faults.add({ path: '/rest/v1/leads.json', method: 'GET', httpStatus: 503, count: 1 });
    await expect(h.pull.pullLeadsAndCompanies()).rejects.toThrow();
    h.emulator.runtime.faults.remove(fault.id!);
    expect((await h.store.watermarks.get(LEADS_STREAM))?.cursor).toBe(before?.cursor);
    expect(await h.person(id)).toBeUndefined();
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ read: 1, written: 1 });
    expect((await h.person(id))?.record).toMatchObject({ first_name: 'Rita' });
  });

  it('costs at most two calls for a whole idle pull (steps 4–7)', async () => {
    await h.cycle();
    const before = h.calls();
    const summaries = await h.cycle();
    for (const s of summaries) expect(s).toMatchObject({ read: 0, written: 0, skipped: 0, hasMore: false });
    const spent = callsBetween(before, h.calls());
    expect(spent).toEqual({ 'GET /rest/v1/activities.json': 1, 'GET /rest/v1/activities/deletedleads.json': 1 });
    expect(total(spent)).toBeLessThanOrEqual(2);
    expect(summaries.reduce((n, s) => n + s.calls, 0)).toBe(2);
  });

  it('does not pull back what the push wrote (echo suppression)', async () => {
    const [contact] = await h.insert('contact', [{ email: 'crm-made@acme.example', first_name: 'Cleo', title: 'CTO' }]);
    expect(await h.push.pushLeads()).toMatchObject({ written: 1 });
    await h.update('contact', [{ id: contact!, title: 'CEO' }]);
    expect(await h.push.pushLeads()).toMatchObject({ written: 1 });
    const before = h.calls();
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ written: 0, skipped: 0, conflicts: 0 });
    expect(r.echoes).toBeGreaterThan(0);
    // Only the activity page: no lead is read back.
    expect(callsBetween(before, h.calls())).toEqual({ 'GET /rest/v1/activities.json': 1 });
    const { rows } = await h.store.pool.query(`SELECT count(*)::int AS n FROM crm.leads WHERE email = 'crm-made@acme.example'`);
    expect(rows[0].n).toBe(0);
  });

  it('settles a field changed on both sides by the conflict rule (CRM wins) and records it', async () => {
    const [contact] = await h.insert('contact', [{ email: 'both@acme.example', title: 'Original' }]);
    await h.push.pushLeads();
    await h.pull.pullLeadsAndCompanies();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);

    // Since the last cycle: a Marketo user edits the title, and a CRM user does too; the cycle's push (step 3) runs first.
    h.emulator.subscription.editLeadAsUser(marketoId, { title: 'Marketo title', department: 'Sales' });
    await h.update('contact', [{ id: contact!, title: 'CRM title' }]);
    await h.push.pushLeads();
    const cycleId = await h.store.cycles.start('sync');
    const r = await h.pull.pullLeadsAndCompanies({ cycleId });
    expect(r).toMatchObject({ conflicts: 1 });
    // In the cycle history: the record and field, the rule and the winner; the Marketo-only department is no conflict.
    expect(await h.store.cycles.conflicts(cycleId)).toEqual([{ cycleId, entity: 'lead', recordKey: String(marketoId), field: 'title', rule: 'crm', winner: 'crm', at: expect.any(Date) }]);
    await h.store.cycles.finish(cycleId, { status: 'succeeded' });
    expect((await h.store.cycles.recent(1))[0]).toMatchObject({ id: cycleId, conflicts: 1 });
    const crm = (await h.user.getRecords('contact', [contact!]))[0]!;
    expect(crm).toMatchObject({ title: 'CRM title', department: 'Sales' });
    expect(h.emulator.subscription.getLead(marketoId)?.values.title).toBe('CRM title');
    // The contact (no account: a "lead" by Marketo's routing) stays the one CRM person of its Marketo lead.
    expect(await h.person(marketoId)).toMatchObject({ type: 'contact', record: { id: contact } });
    const { rows } = await h.store.pool.query(`SELECT count(*)::int AS n FROM crm.leads WHERE marketo_lead_id = $1`, [marketoId]);
    expect(rows[0].n).toBe(0);
    const [entry] = await h.store.errors.list({ entity: 'lead' });
    expect(entry).toMatchObject({ recordKey: `${marketoId}/title`, operation: 'pull-conflict', code: 'CONFLICT_CRM_WINS', status: 'resolved' });

    // A Marketo user edits after the push wrote the CRM's value: the CRM's value is written back to Marketo.
    await h.update('contact', [{ id: contact!, title: 'CRM again' }]);
    await h.push.pushLeads();
    h.emulator.subscription.editLeadAsUser(marketoId, { title: 'Marketo again' });
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ conflicts: 1 });
    expect((await h.user.getRecords('contact', [contact!]))[0]).toMatchObject({ title: 'CRM again' });
    expect(h.emulator.subscription.getLead(marketoId)?.values.title).toBe('CRM again');
  });

  it('keeps a Marketo-only change when the pull fails after writing it back and is retried', async () => {
    const [contact] = await h.insert('contact', [{ email: 'retry-win@acme.example', first_name: 'Jessica', title: 'Original' }]);
    await h.push.pushLeads();
    await h.pull.pullLeadsAndCompanies();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);

    // A Marketo user renames the lead; a CRM user edits another field, so the push sends the whole
    // record and overwrites the new first name with the CRM's unchanged one.
    h.emulator.subscription.editLeadAsUser(marketoId, { firstName: 'Rita' });
    await h.update('contact', [{ id: contact!, title: 'Changed in the CRM' }]);
    await h.push.pushLeads();
    expect(h.emulator.subscription.getLead(marketoId)?.values.firstName).toBe('Jessica');

    // The pull writes Marketo's value back to Marketo, then the CRM write fails once: the step is retried.
    const upsert = jest.spyOn(h.crm, 'upsert').mockRejectedValueOnce(new Error('CRM unavailable'));
    await expect(h.pull.pullLeadsAndCompanies()).rejects.toThrow('CRM unavailable');
    upsert.mockRestore();
    expect(h.emulator.subscription.getLead(marketoId)?.values.firstName).toBe('Rita');

    // The retry reads the same window, now with that write-back in it: Marketo's value still wins.
    await h.pull.pullLeadsAndCompanies();
    expect((await h.user.getRecords('contact', [contact!]))[0]).toMatchObject({ first_name: 'Rita', title: 'Changed in the CRM' });
    expect(h.emulator.subscription.getLead(marketoId)?.values).toMatchObject({ firstName: 'Rita', title: 'Changed in the CRM' });
  });

  it('reads activities of the watermark second again after a restart from a bare datetime, and drops those already handled', async () => {
    const second = h.emulator.runtime.clock.nowSeconds() + 5;
    const a = h.createLead({ email: 'a@boundary.example' }, second);
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ written: 0 });
    // Marketo never returns activities dated after its present: move it past the second.
    h.emulator.runtime.clock.advance(6_000);
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ read: 1, written: 1 });
    const b = h.createLead({ email: 'b@boundary.example' }, second);
    const stored = await h.store.watermarks.get(LEADS_STREAM);
    expect(stored?.watermark?.getTime()).toBe(second * 1000);
    // Restart from the datetime alone (as after the bootstrap): the token is gone, the handled ids stay.
    const cursor = JSON.parse(stored!.cursor!) as { v: 1; ids: string[]; token?: string };
    await h.store.watermarks.set(LEADS_STREAM, { watermark: stored!.watermark, cursor: JSON.stringify({ v: 1, ids: cursor.ids }) });
    const before = h.calls();
    const r = await h.pull.pullLeadsAndCompanies();
    expect(callsBetween(before, h.calls())).toMatchObject({ 'GET /rest/v1/activities/pagingtoken.json': 1 });
    // A's New Lead came back at the boundary and was dropped by id; only B is new.
    expect(r).toMatchObject({ read: 1, written: 1 });
    expect(await h.person(a)).toBeDefined();
    expect(await h.person(b)).toBeDefined();
    expect((await h.store.watermarks.get(LEADS_STREAM))?.watermark?.getTime()).toBe(second * 1000);
  });
});

describe('pull step 4: run budget and the Marketo-wins rule', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness({ maxActivitiesPerRun: 2, conflictRule: 'marketo' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('stops at its budget with hasMore and continues where it stopped', async () => {
    const ids = [1, 2, 3].map((i) => h.createLead({ email: `budget${i}@else.example` }));
    const first = await h.pull.pullLeadsAndCompanies();
    expect(first).toMatchObject({ read: 2, written: 2, hasMore: true });
    const second = await h.pull.pullLeadsAndCompanies();
    expect(second).toMatchObject({ read: 1, written: 1, hasMore: false });
    for (const id of ids) expect(await h.person(id)).toBeDefined();
  });

  it('keeps the Marketo user\'s value of a field changed on both sides, in the CRM and in Marketo', async () => {
    const [contact] = await h.insert('contact', [{ email: 'mw@acme.example', title: 'Original' }]);
    await h.push.pushLeads();
    await h.pull.pullLeadsAndCompanies();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);
    h.emulator.subscription.editLeadAsUser(marketoId, { title: 'Marketo title' });
    await h.update('contact', [{ id: contact!, title: 'CRM title' }]);
    await h.push.pushLeads();
    const cycleId = await h.store.cycles.start('sync');
    expect(await h.pull.pullLeadsAndCompanies({ cycleId })).toMatchObject({ conflicts: 1 });
    expect(await h.store.cycles.conflicts(cycleId)).toMatchObject([{ recordKey: String(marketoId), field: 'title', rule: 'marketo', winner: 'marketo' }]);
    expect((await h.user.getRecords('contact', [contact!]))[0]).toMatchObject({ title: 'Marketo title' });
    expect(h.emulator.subscription.getLead(marketoId)?.values.title).toBe('Marketo title');
    const [entry] = await h.store.errors.list({ entity: 'lead' });
    expect(entry).toMatchObject({ code: 'CONFLICT_MARKETO_WINS', status: 'resolved' });
    // The write-back is the sync's own: the next pull sees only echoes.
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ written: 0, conflicts: 0 });
  });

  it('leaves the lead stream unread while persons are switched off in the mapping, and pulls the backlog once switched on', async () => {
    const config = (await loadPushContext({ marketo: h.marketo, store: h.store, crm: h.crm })).context.config;
    const contacts = config.entities.find((e) => e.marketo === 'lead' && e.crm === 'contact')!;
    contacts.enabled = false;
    await h.store.mappings.save(config);
    const id = h.createLead({ email: 'waits@else.example' });
    const before = await h.store.watermarks.get(LEADS_STREAM);
    const calls = h.calls();
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ disabled: true, read: 0, calls: 0 });
    expect(callsBetween(calls, h.calls())).toEqual({});
    expect((await h.store.watermarks.get(LEADS_STREAM))?.cursor).toBe(before?.cursor);
    contacts.enabled = true;
    await h.store.mappings.save(config);
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ written: 1 });
    expect(await h.person(id)).toBeDefined();
  });
});
