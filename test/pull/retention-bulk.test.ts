import { DELETES_STREAM, LEADS_STREAM } from '../../src/sync/pull/index.js';
import { callsBetween, startPullHarness, type PullHarness } from './support.js';

const DAY = 86_400_000;

/** Watermarks never move backwards through the store's API: a test that needs an old one starts the stream over. */
async function setOld(h: PullHarness, stream: string, at: Date, readSince: 'unread since' | 'read just now'): Promise<void> {
  await h.store.pool.query(`DELETE FROM sync_state.watermarks WHERE stream = $1`, [stream]);
  // A position without cursor is one nobody read after (the bootstrap leaves such); a stored cursor was read when stored.
  await h.store.watermarks.set(stream, { watermark: at, cursor: readSince === 'unread since' ? null : JSON.stringify({ v: 1, ids: [] }) });
}

/** Large volumes and long stops: Bulk Lead Extract on updatedAt, and the retention periods of the activity log. */
describe('pull: bulk extract for many changes', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness({ bulkThreshold: 3 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('reads the changed leads by Bulk Lead Extract on updatedAt from the threshold on', async () => {
    const ids = [1, 2, 3, 4].map((i) => h.createLead({ email: `bulk${i}@else.example`, firstName: `B${i}` }));
    const before = h.calls();
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ mode: 'bulk', read: 4, written: 4, skipped: 0 });
    const spent = callsBetween(before, h.calls());
    expect(spent['POST /bulk/v1/leads/export/create.json']).toBe(1);
    expect(spent['GET /rest/v1/leads.json']).toBeUndefined();
    for (const [i, id] of ids.entries()) expect((await h.person(id))?.record).toMatchObject({ email: `bulk${i + 1}@else.example`, first_name: `B${i + 1}` });
    // Below the threshold the next change goes by id again.
    h.emulator.subscription.editLeadAsUser(ids[0]!, { firstName: 'Changed' });
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ mode: 'rest', written: 1 });
  });
});

describe('pull: activity retention', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('trusts the activity log of a quiet stream: what counts is when it was last read, not its last activity', async () => {
    await setOld(h, LEADS_STREAM, new Date(h.now().getTime() - 100 * DAY), 'read just now');
    await setOld(h, DELETES_STREAM, new Date(h.now().getTime() - 100 * DAY), 'read just now');
    const [step4, step5] = await h.cycle();
    expect(step4!.retention).toBeUndefined();
    expect(step5!.retention).toBeUndefined();
  });

  it('catches up by bulk extract when the last pull is older than Change Data Value retention, and says so', async () => {
    const id = h.createLead({ email: 'old@else.example', firstName: 'Olga' });
    // The loop was stopped for 100 days (the watermark is where it stopped).
    await setOld(h, LEADS_STREAM, new Date(h.now().getTime() - 100 * DAY), 'unread since');
    const before = h.calls();
    const startedAt = Math.floor(h.now().getTime() / 1000) * 1000;
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ retention: 'changes-pruned', mode: 'bulk', written: 1 });
    // 100 days = 4 windows of at most 31 days.
    expect(callsBetween(before, h.calls())['POST /bulk/v1/leads/export/create.json']).toBe(4);
    expect((await h.person(id))?.record).toMatchObject({ first_name: 'Olga' });
    // The stream restarts at the extract's end: the next pull is an ordinary one.
    expect((await h.store.watermarks.get(LEADS_STREAM))!.watermark!.getTime()).toBeGreaterThanOrEqual(startedAt);
    const next = await h.pull.pullLeadsAndCompanies();
    expect(next.retention).toBeUndefined();
  });

  it('checks the id set when the last read of deletes is older than Delete Lead retention, and says so', async () => {
    const kept = h.createLead({ email: 'kept@else.example' });
    const gone = h.createLead({ email: 'gone@else.example' });
    await h.cycle();
    const goneCrm = (await h.person(gone))!.record.id as string;
    // Deleted while the loop was stopped, and Marketo has pruned the Delete Lead activity since.
    h.emulator.subscription.leads.delete(gone);
    await setOld(h, DELETES_STREAM, new Date(h.now().getTime() - 20 * DAY), 'unread since');
    const step5 = await h.pull.pullMergesAndDeletes();
    expect(step5).toMatchObject({ retention: 'deletes-pruned' });
    await h.pull.pullActivities();
    expect(await h.pull.deleteLeadsInCrm()).toMatchObject({ written: 1 });
    expect(await h.crm.getRecords('lead', [goneCrm])).toEqual([]);
    expect(await h.person(kept)).toBeDefined();
    expect((await h.pull.pullMergesAndDeletes()).retention).toBeUndefined();
  });
});
