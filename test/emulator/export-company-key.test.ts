import type { RunningEmulator } from '../../emulator/index.js';
import { call, start, token, type ResultItem } from './helpers.js';

// A company's externalCompanyId changed by an update by idField: the leads of that company show
// its new key and values in the next export (Marketo links a lead to the company record, not to
// the text), and lookups by the old key find nothing. Through the real HTTP API, as a client sees it.

const FIELDS = ['id', 'email', 'externalCompanyId', 'company', 'industry'];
const WINDOW = { startAt: '2020-01-01T00:00:00Z', endAt: '2020-01-31T00:00:00Z' };

let em: RunningEmulator;
let t: string;
beforeAll(async () => {
  // The clock sits inside the export window, so the leads created below fall in it.
  em = await start({ now: () => Date.parse('2020-01-15T12:00:00Z'), bulk: { export: { rowsPerSecond: 0 } } });
  t = await token(em);
});
afterAll(() => em.close());

async function ok(path: string, json?: unknown): Promise<ResultItem[]> {
  const { body } = await call(em, path, { token: t, json });
  if (!body.success) throw new Error(`${path}: ${JSON.stringify(body.errors)}`);
  return body.result ?? [];
}

/** One lead export of the window, waited for and read: its CSV lines. */
async function exportLeads(): Promise<string[]> {
  const [job] = await ok('/bulk/v1/leads/export/create.json', { fields: FIELDS, format: 'CSV', filter: { createdAt: WINDOW } });
  const id = String(job!.exportId);
  await ok(`/bulk/v1/leads/export/${id}/enqueue.json`, {});
  for (let i = 0; ; i++) {
    const [status] = await ok(`/bulk/v1/leads/export/${id}/status.json`);
    if (status!.status === 'Completed') break;
    if (status!.status === 'Failed' || i > 200) throw new Error(`export ${id}: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const res = await fetch(`${em.url}/bulk/v1/leads/export/${id}/file.json`, { headers: { Authorization: `Bearer ${t}` } });
  expect(res.status).toBe(200);
  return (await res.text()).trim().split('\n');
}

test('a company whose externalCompanyId changes by an idField update shows its new key and values on its leads in the next export', async () => {
  const companies = await ok('/rest/v1/companies.json', {
    input: [
      { externalCompanyId: 'ACME-1', company: 'Acme', industry: 'Retail' },
      { externalCompanyId: 'GLOBEX', company: 'Globex', industry: 'Energy' },
    ],
  });
  const acme = companies[0]!.id as number;
  const leads = await ok('/rest/v1/leads.json', {
    action: 'createOnly',
    input: [
      { email: 'a@acme.test', externalCompanyId: 'ACME-1' },
      { email: 'b@acme.test', externalCompanyId: 'ACME-1' },
      { email: 'c@globex.test', externalCompanyId: 'GLOBEX' },
      // Names a key no company has yet: shows its own company value until one does.
      { email: 'd@own.test', externalCompanyId: 'ACME-2', company: 'Own Co' },
    ],
  });
  const [a, b, c, d] = leads.map((l) => l.id as number);

  expect(await exportLeads()).toEqual([
    FIELDS.join(','),
    `${a},a@acme.test,ACME-1,Acme,Retail`,
    `${b},b@acme.test,ACME-1,Acme,Retail`,
    `${c},c@globex.test,GLOBEX,Globex,Energy`,
    `${d},d@own.test,ACME-2,Own Co,null`,
  ]);

  const updated = await ok('/rest/v1/companies.json', { action: 'updateOnly', dedupeBy: 'idField', input: [{ id: acme, externalCompanyId: 'ACME-2', company: 'Acme Renamed', industry: 'Mining' }] });
  expect(updated).toEqual([{ seq: 0, status: 'updated', id: acme }]);

  expect(await exportLeads()).toEqual([
    FIELDS.join(','),
    `${a},a@acme.test,ACME-2,Acme Renamed,Mining`,
    `${b},b@acme.test,ACME-2,Acme Renamed,Mining`,
    `${c},c@globex.test,GLOBEX,Globex,Energy`,
    `${d},d@own.test,ACME-2,Acme Renamed,Mining`,
  ]);
  // The REST reads agree with the file.
  expect(await ok(`/rest/v1/leads.json?filterType=id&filterValues=${a},${d}&fields=externalCompanyId,company`)).toEqual([
    { id: a, externalCompanyId: 'ACME-2', company: 'Acme Renamed' },
    { id: d, externalCompanyId: 'ACME-2', company: 'Acme Renamed' },
  ]);
  expect(await ok('/rest/v1/companies.json?filterType=externalCompanyId&filterValues=ACME-1')).toEqual([]);
  expect((await ok('/rest/v1/companies.json?filterType=externalCompanyId&filterValues=ACME-2'))[0]).toMatchObject({ id: acme, externalCompanyId: 'ACME-2' });
});

test("an idField update may not take another company's externalCompanyId", async () => {
  const [first, second] = await ok('/rest/v1/companies.json', { input: [{ externalCompanyId: 'K-1', company: 'One' }, { externalCompanyId: 'K-2', company: 'Two' }] });
  const clash = await ok('/rest/v1/companies.json', { action: 'updateOnly', dedupeBy: 'idField', input: [{ id: second!.id, externalCompanyId: 'k-1', company: 'Two Renamed' }] });
  expect(clash).toEqual([{ seq: 0, status: 'skipped', reasons: [{ code: '1017', message: 'Object already exists' }] }]);
  expect(await ok('/rest/v1/companies.json?filterType=externalCompanyId&filterValues=K-1,K-2&fields=id,company')).toEqual([
    { seq: 0, id: first!.id, company: 'One' },
    { seq: 1, id: second!.id, company: 'Two' },
  ]);
});
