import { LEADS_STREAM } from '../../src/sync/pull/index.js';
import { callsBetween, startPullHarness, type PullHarness } from './support.js';

const DAY = 86_400_000;

/** Switches the emulator's bulk faults through its admin API, as an operator of a test would. */
async function bulkFaults(h: PullHarness, faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${h.emulator.url}/_emulator/bulk/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  if (!res.ok) throw new Error(`bulk faults: ${res.status} ${await res.text()}`);
}

async function watermarkOf(h: PullHarness): Promise<number> {
  return (await h.store.watermarks.get(LEADS_STREAM))!.watermark!.getTime();
}

async function malformedEntries(h: PullHarness) {
  return (await h.store.errors.list({ entity: 'lead' })).filter((e) => e.code === 'MALFORMED_ROW');
}

function getLeadsCalls(spent: Record<string, number>): number {
  return Object.entries(spent).filter(([k]) => k.startsWith('GET /rest/v1/leads.json')).reduce((n, [, v]) => n + v, 0);
}

/**
 * The sync loop's bulk route (step 4 from `bulkThreshold` changed leads on, and the retention
 * catch-up) against export files with lines that cannot be read. Every file the emulator serves
 * while a fault is armed is damaged, as Marketo would damage every export of the same bad data:
 * a pull that failed on such a line would fail on each retry, and the watermark would never move.
 */
describe('pull: malformed lines in a Bulk Lead Extract', () => {
  let h: PullHarness;
  beforeEach(async () => {
    h = await startPullHarness({ bulkThreshold: 3 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('fetches a lead whose line is not UTF-8 again by id, writes it with the others and moves the watermark', async () => {
    const ids = [1, 2, 3, 4, 5].map((i) => h.createLead({ email: `bad${i}@else.example`, firstName: `Bea${i}`, lastName: `Lin${i}` }));
    // Two damaged lines in each of the next 3 lead files: a retry of a failing pull would meet them again.
    await bulkFaults(h, { invalidUtf8Rows: 3, invalidUtf8RowsPerFile: 2, invalidUtf8Kind: 'leads' });
    const mark = await watermarkOf(h);
    const before = h.calls();
    const r = await h.pull.pullLeadsAndCompanies();
    const spent = callsBetween(before, h.calls());
    expect(r).toMatchObject({ mode: 'bulk', written: 5, skipped: 0 });
    for (const [i, id] of ids.entries()) expect((await h.person(id))?.record).toMatchObject({ email: `bad${i + 1}@else.example`, first_name: `Bea${i + 1}`, last_name: `Lin${i + 1}` });
    // One Get Leads for the batch's two damaged lines, counted in the step's calls like the extract's.
    expect(getLeadsCalls(spent)).toBe(1);
    expect(spent['POST /bulk/v1/leads/export/create.json']).toBe(1);
    const entries = await malformedEntries(h);
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e).toMatchObject({ operation: 'pull', status: 'resolved' });
      expect(e.reason).toMatch(/invalid UTF-8 .*; fetched again by id through REST and written with its batch$/);
    }
    expect(await watermarkOf(h)).toBeGreaterThan(mark);
    // The next pull starts after the window: nothing left to read, nothing failed.
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ mode: 'none', written: 0, skipped: 0 });
  });

  it('ledgers a line without a readable lead id with its line and reason, applies the rest and moves the watermark', async () => {
    const ids = [1, 2, 3, 4].map((i) => h.createLead({ email: `rag${i}@else.example`, firstName: `Rag${i}` }));
    await bulkFaults(h, { malformedRows: 3 });
    const mark = await watermarkOf(h);
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ mode: 'bulk', written: 4, skipped: 1 });
    for (const id of ids) expect(await h.person(id)).toBeDefined();
    const entries = await malformedEntries(h);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ operation: 'pull', status: 'open', source: 'marketo' });
    expect(entries[0]!.reason).toMatch(/^export \S+: data record 2 \(line 3, ends at byte \d+\) skipped: 2 cells where the header has \d+ columns$/);
    expect(await watermarkOf(h)).toBeGreaterThan(mark);
  });

  it('a step retried after its writes leaves one entry per damaged line: the earlier attempt\'s is resolved as superseded', async () => {
    const ids = [1, 2, 3, 4].map((i) => h.createLead({ email: `retry${i}@else.example`, firstName: `Retry${i}` }));
    // Every export of the next two gets the same short line: the first attempt's and the retry's.
    await bulkFaults(h, { malformedRows: 2 });
    // The state store refuses to move the lead watermark once: the step fails after its writes and its ledger entries.
    await h.store.pool.query(`CREATE FUNCTION refuse_leads_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'watermark store down'; END $$`);
    await h.store.pool.query(`CREATE TRIGGER refuse_leads_mark BEFORE INSERT OR UPDATE ON sync_state.watermarks FOR EACH ROW WHEN (NEW.stream = '${LEADS_STREAM}') EXECUTE FUNCTION refuse_leads_mark()`);
    const mark = await watermarkOf(h);
    await expect(h.pull.pullLeadsAndCompanies()).rejects.toThrow(/watermark store down/);
    expect(await watermarkOf(h)).toBe(mark);
    expect((await malformedEntries(h)).filter((e) => e.status === 'open')).toHaveLength(1);
    await h.store.pool.query(`DROP TRIGGER refuse_leads_mark ON sync_state.watermarks`);

    // The retry reads the same range through a new export and meets the same line.
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ mode: 'bulk', skipped: 1 });
    for (const id of ids) expect(await h.person(id)).toBeDefined();
    expect(await watermarkOf(h)).toBeGreaterThan(mark);
    const entries = await malformedEntries(h);
    expect(entries.filter((e) => e.status === 'open')).toHaveLength(1);
    const [superseded, ...more] = entries.filter((e) => e.status === 'resolved');
    expect(more).toHaveLength(0);
    expect(superseded!.reason).toMatch(/^superseded: the step was retried/);
    const exportOf = (key: string) => key.split(' ')[1];
    expect(exportOf(superseded!.recordKey)).not.toBe(exportOf(entries.find((e) => e.status === 'open')!.recordKey));

    // A later range's damaged line is a line of its own: the finished range's entry stays open beside it.
    [5, 6, 7, 8].map((i) => h.createLead({ email: `retry${i}@else.example`, firstName: `Retry${i}` }));
    await bulkFaults(h, { malformedRows: 1 });
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ mode: 'bulk', skipped: 1 });
    expect((await malformedEntries(h)).filter((e) => e.status === 'open')).toHaveLength(2);
  });

  it('settles a conflict on a lead fetched again exactly as on a lead read from the file (CRM wins)', async () => {
    const [contact] = await h.insert('contact', [{ email: 'both@acme.example', title: 'Original' }]);
    await h.push.pushLeads();
    await h.pull.pullLeadsAndCompanies();
    const marketoId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact!])).get(contact!)!.marketoId);
    // Since the last cycle: a Marketo user and a CRM user edit the title; more leads changed, so step 4 goes by bulk.
    h.emulator.subscription.editLeadAsUser(marketoId, { title: 'Marketo title', department: 'Sales' });
    await h.update('contact', [{ id: contact!, title: 'CRM title' }]);
    await h.push.pushLeads();
    const others = [1, 2, 3].map((i) => h.createLead({ email: `more${i}@else.example`, firstName: `More${i}` }));
    // Every line of the file damaged: each lead, the conflicted one too, comes back through REST.
    await bulkFaults(h, { invalidUtf8Rows: 1, invalidUtf8RowsPerFile: 100, invalidUtf8Kind: 'leads' });
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ mode: 'bulk', conflicts: 1, skipped: 0 });
    expect((await h.user.getRecords('contact', [contact!]))[0]).toMatchObject({ title: 'CRM title', department: 'Sales' });
    expect(h.emulator.subscription.getLead(marketoId)?.values.title).toBe('CRM title');
    for (const id of others) expect(await h.person(id)).toBeDefined();
    const entries = await malformedEntries(h);
    expect(entries.length).toBe(4);
    expect(entries.every((e) => e.status === 'resolved')).toBe(true);
    expect(entries.some((e) => e.reason.includes(`key ${marketoId})`))).toBe(true);
  });

  it('fetches the damaged lines again in the retention catch-up too', async () => {
    const ids = [1, 2, 3].map((i) => h.createLead({ email: `old${i}@else.example`, firstName: `Old${i}` }));
    // Stopped for 100 days: the catch-up reads every lead updated since by bulk extract (4 windows).
    await h.store.pool.query(`DELETE FROM sync_state.watermarks WHERE stream = $1`, [LEADS_STREAM]);
    await h.store.watermarks.set(LEADS_STREAM, { watermark: new Date(h.now().getTime() - 100 * DAY), cursor: null });
    await bulkFaults(h, { invalidUtf8Rows: 10, invalidUtf8RowsPerFile: 3, invalidUtf8Kind: 'leads' });
    const r = await h.pull.pullLeadsAndCompanies();
    expect(r).toMatchObject({ retention: 'changes-pruned', mode: 'bulk', written: 3, skipped: 0 });
    for (const [i, id] of ids.entries()) expect((await h.person(id))?.record).toMatchObject({ email: `old${i + 1}@else.example`, first_name: `Old${i + 1}` });
    const entries = await malformedEntries(h);
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.status === 'resolved' && e.operation === 'pull')).toBe(true);
  });
});
