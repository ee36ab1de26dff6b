import Marketo from 'node-marketo-rest';
import type { RunningEmulator } from '../../emulator/index.js';
import { CLIENT_ID, CLIENT_SECRET, start } from './helpers.js';

/**
 * A third-party client written from Marketo's docs (npm node-marketo-rest 0.7.8), pointed at the
 * emulator unchanged: it must authenticate, write and read leads and page activities.
 */
describe('node-marketo-rest against the emulator', () => {
  let em: RunningEmulator;
  let marketo: Marketo;
  beforeAll(async () => {
    em = await start({ seed: { leads: 20, programs: 0, lists: 0, seed: 5 } });
    marketo = new Marketo({ endpoint: `${em.url}/rest`, identity: `${em.url}/identity`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, retry: { maxRetries: 0 } });
  });
  afterAll(async () => em.close());

  it('authenticates with client credentials', async () => {
    const t = await marketo.getOAuthToken();
    expect(t.access_token).toMatch(/^[0-9a-f-]{36}:int$/);
  });

  it('writes and reads leads', async () => {
    const written = await marketo.lead.createOrUpdate([{ email: 'third.party@example.com', firstName: 'Third' }], { lookupField: 'email' });
    expect(written.result).toEqual([{ id: 21, status: 'created' }]);
    const found = await marketo.lead.find('email', ['third.party@example.com'], { fields: ['email', 'firstName'] });
    expect(found.result).toEqual([{ id: 21, email: 'third.party@example.com', firstName: 'Third' }]);
    const byId = await marketo.lead.byId(21, { fields: ['firstName'] });
    expect(byId.result).toEqual([{ id: 21, firstName: 'Third' }]);
  });

  it('pages activities with its own nextPage mechanism', async () => {
    const types = await marketo.activities.getActivityTypes();
    expect(types.result?.some((x) => x.id === 12 && x.name === 'New Lead')).toBe(true);
    // 0.7.8 has no activities wrapper: its connection's get() is how it reaches any endpoint.
    const tokenPage = await marketo._connection.get('/v1/activities/pagingtoken.json', { query: { sinceDatetime: '2000-01-01T00:00:00Z' } });
    let page = await marketo._connection.get('/v1/activities.json', { query: { activityTypeIds: '12', batchSize: 7, nextPageToken: tokenPage.nextPageToken } });
    const seen: unknown[] = [...(page.result ?? [])];
    for (let i = 0; i < 10 && page.moreResult && page.nextPage; i++) {
      page = await page.nextPage();
      seen.push(...(page.result ?? []));
    }
    expect(seen).toHaveLength(21);
    const leadIds = (seen as { leadId: number }[]).map((a) => a.leadId).sort((a, b) => a - b);
    expect(leadIds).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });
});
