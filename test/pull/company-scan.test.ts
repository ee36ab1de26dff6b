import { COMPANIES_STREAM } from '../../src/sync/pull/company-scan.js';
import { callsBetween, startPullHarness, type PullHarness } from './support.js';

const HOUR = 3_600_000;

/** REST calls only: a day of emulator time expires the access token, and the re-authentication is no API call. */
const rest = (calls: Record<string, number>) => Object.fromEntries(Object.entries(calls).filter(([k]) => k.includes('/rest/')));

/**
 * Companies changed in Marketo with no change on any lead: Marketo logs no activity for them, so
 * step 4 reads every company the CRM holds on a cadence (daily by default) and pulls those
 * updated since its last scan.
 */
describe('pull step 4: the periodic company scan', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('pulls companies Marketo changed without a lead change once a day, one Get Companies call per 300 accounts', async () => {
    // A company born in Marketo (reached the CRM through its lead) and one born in the CRM (pushed).
    await h.marketo.companies.sync({ input: [{ externalCompanyId: 'SCAN-1', company: 'Scan One', industry: 'Energy' }] });
    const lead = h.createLead({ email: 'scan@one.example', externalCompanyId: 'SCAN-1' });
    const [crmAccount] = await h.insert('account', [{ name: 'Crm Co', industry: 'Retail' }]);
    expect(await h.push.pushCompanies()).toMatchObject({ written: 1 });
    const first = await h.pull.pullLeadsAndCompanies();
    expect(first.companiesScanned).toBeUndefined();
    const contact = await h.person(lead);
    const scanOne = String(contact!.record.account_id);
    expect((await h.crm.getRecords('account', [scanOne]))[0]).toMatchObject({ industry: 'Energy', external_company_id: 'SCAN-1' });
    // The first run only starts the scan's stream: the bootstrap has just copied every company.
    expect(await h.store.watermarks.get(COMPANIES_STREAM)).toBeDefined();

    // Marketo users change both companies; no lead changes, so no activity says so.
    h.emulator.runtime.clock.advance(2_000);
    await h.marketo.companies.sync({ action: 'updateOnly', input: [{ externalCompanyId: 'SCAN-1', industry: 'Mining' }, { externalCompanyId: crmAccount!, industry: 'Shipping' }] });

    // Not due yet: the cycle stays idle (one activity page).
    let before = h.calls();
    expect(await h.pull.pullLeadsAndCompanies()).toMatchObject({ written: 0 });
    expect(rest(callsBetween(before, h.calls()))).toEqual({ 'GET /rest/v1/activities.json': 1 });
    expect((await h.crm.getRecords('account', [scanOne]))[0]).toMatchObject({ industry: 'Energy' });

    // A day later the scan is due: both accounts are read in one call and take Marketo's values.
    h.emulator.runtime.clock.advance(25 * HOUR);
    before = h.calls();
    const scanned = await h.pull.pullLeadsAndCompanies();
    expect(scanned).toMatchObject({ companiesScanned: 2, written: 2, skipped: 0 });
    expect(rest(callsBetween(before, h.calls()))).toEqual({ 'GET /rest/v1/activities.json': 1, 'GET /rest/v1/companies.json': 1 });
    expect((await h.crm.getRecords('account', [scanOne]))[0]).toMatchObject({ industry: 'Mining' });
    expect((await h.crm.getRecords('account', [crmAccount!]))[0]).toMatchObject({ industry: 'Shipping', name: 'Crm Co' });
    // What the scan wrote is the sync's own: the push does not send it back.
    before = h.calls();
    expect(await h.push.pushCompanies()).toMatchObject({ written: 0 });
    expect(rest(callsBetween(before, h.calls()))).toEqual({});

    // Right after, not due; a day later due again, with nothing changed: read, compared, nothing written.
    expect((await h.pull.pullLeadsAndCompanies()).companiesScanned).toBeUndefined();
    h.emulator.runtime.clock.advance(25 * HOUR);
    const quiet = await h.pull.pullLeadsAndCompanies();
    expect(quiet).toMatchObject({ companiesScanned: 2, written: 0 });
  });
});

describe('pull step 4: company scan switched off', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness({ companyScanHours: 0 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('never reads companies without a lead change', async () => {
    await h.insert('account', [{ name: 'Quiet Co' }]);
    await h.push.pushCompanies();
    await h.pull.pullLeadsAndCompanies();
    h.emulator.runtime.clock.advance(49 * HOUR);
    const before = h.calls();
    expect((await h.pull.pullLeadsAndCompanies()).companiesScanned).toBeUndefined();
    expect(rest(callsBetween(before, h.calls()))).toEqual({ 'GET /rest/v1/activities.json': 1 });
    expect(await h.store.watermarks.get(COMPANIES_STREAM)).toBeUndefined();
  });
});
