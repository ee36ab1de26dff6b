import { leadsSink } from '../../activities/sinks/leads.js';
import type { MarketoClient } from '../../src/marketo/index.js';
import { startMarketingServices, type MarketingHarness } from '../marketing/support.js';
import { exportShapedRows } from './support.js';

// The lead ingest loads the companies and salespersons a batch names before writing it, so the
// persons go in with account and owner set and nothing is left for the link steps. Real HTTP to
// the emulator, real Postgres; the sink is called as ingestBulkExport calls it.
let h: Omit<MarketingHarness, 'taskQueue'>;
const WINDOW = { startAt: '2000-01-01T00:00:00Z', endAt: '2100-01-01T00:00:00Z' };
const BOTH = { kind: 'leads' as const, preload: ['company' as const, 'salesPerson' as const] };

beforeAll(async () => {
  h = await startMarketingServices({ seed: { leads: 80, companies: 6, salespersons: 3, opportunities: 0, programs: 0, lists: 0, customObjects: 0 } });
});

afterAll(async () => {
  await h?.close();
});

async function exportedRows(marketo: MarketoClient) {
  const sink = leadsSink({ marketo, store: h.store, crm: h.crm });
  const request = (await sink.exportRequest({ kind: 'leads' }, WINDOW)) as { fields: string[] };
  return exportShapedRows(marketo, [...h.emulator.subscription.leads.ids()], request.fields);
}

/** Persons of the run still waiting for a link step (an account or owner their batch could not set). */
async function pendingPersons(runId: string): Promise<number> {
  const { rows } = await h.store.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${h.store.schema}.bootstrap_person_refs WHERE run_id = $1
       AND ((person_type = 'contact' AND external_company_id IS NOT NULL AND NOT account_linked)
            OR (external_sales_person_id IS NOT NULL AND NOT owner_linked))`,
    [runId],
  );
  return rows[0]!.n;
}

/** CRM persons whose account or owner is not the one their Marketo keys name. */
async function mislinked(): Promise<number> {
  const { rows } = await h.crm.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT c.account_id, c.owner_id, c.marketo_lead_id FROM crm.contacts c UNION ALL SELECT NULL, l.owner_id, l.marketo_lead_id FROM crm.leads l) p
     WHERE p.marketo_lead_id = ANY($1::bigint[]) AND (p.account_id IS DISTINCT FROM (SELECT id FROM crm.accounts a WHERE a.external_company_id = ($2::jsonb ->> p.marketo_lead_id::text))
        OR p.owner_id IS DISTINCT FROM (SELECT id FROM crm.users u WHERE u.external_sales_person_id = ($3::jsonb ->> p.marketo_lead_id::text)))`,
    [ids(), JSON.stringify(keysById('externalCompanyId', true)), JSON.stringify(keysById('externalSalesPersonId', false))],
  );
  return rows[0]!.n;
}

function ids(): number[] {
  return [...h.emulator.subscription.leads.ids()];
}

function keysById(field: string, contactsOnly: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of ids()) {
    const v = h.emulator.subscription.leadValue(id, field);
    const company = h.emulator.subscription.leadValue(id, 'externalCompanyId');
    if (v !== null && v !== undefined && v !== '' && (!contactsOnly || (company !== null && company !== undefined && company !== ''))) out[String(id)] = String(v);
  }
  return out;
}

test('a failed preload still writes the batch; its persons wait for the link steps', async () => {
  // Get Companies / Get SalesPersons fail; everything else is the real client.
  const down = () => Promise.reject(new Error('Marketo is unreachable'));
  const broken = Object.create(h.marketo, { companies: { value: { get: down } }, salesPersons: { value: { get: down } } }) as MarketoClient;
  const rows = await exportedRows(h.marketo);
  const sink = leadsSink({ marketo: broken, store: h.store, crm: h.crm });
  const out = await sink.write(rows, { runId: 'preload-down', source: BOTH });
  expect(out).toEqual({ written: rows.length, failed: 0 });
  expect(Object.keys(keysById('externalCompanyId', true)).length).toBeGreaterThan(0);
  expect(await pendingPersons('preload-down')).toBeGreaterThan(0);
  const { rows: accounts } = await h.crm.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM crm.accounts');
  expect(accounts[0]!.n).toBe(0);
});

test('with preload, persons are written linked, each key is asked for once, concurrent batches share the calls', async () => {
  const rows = await exportedRows(h.marketo);
  const sink = leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const half = Math.floor(rows.length / 2);
  const before = h.emulator.runtime.stats.snapshot().endpoints;
  const counted = (path: string, snap = h.emulator.runtime.stats.snapshot().endpoints) => snap[path]?.counted ?? 0;
  // Two batches at once naming overlapping keys (as two writes of one download do).
  const outs = await Promise.all([
    sink.write(rows.slice(0, half), { runId: 'preload-on', source: BOTH }),
    sink.write(rows.slice(half / 2), { runId: 'preload-on', source: BOTH }),
  ]);
  const after = h.emulator.runtime.stats.snapshot().endpoints;
  const companyCalls = counted('GET /rest/v1/companies.json', after) - counted('GET /rest/v1/companies.json', before);
  const salesCalls = counted('GET /rest/v1/salespersons.json', after) - counted('GET /rest/v1/salespersons.json', before);
  // 6 companies and 3 salespersons: one Get each for the whole run, whichever batch made it.
  expect([companyCalls, salesCalls]).toEqual([1, 1]);
  // Counted as the companies' and salespersons' loads (the parent adds them to those phases), not as lead calls.
  const sum = (kind: 'company' | 'salesPerson', k: 'records' | 'written' | 'apiCalls') => outs.reduce((n, o) => n + (o.loaded?.[kind]?.[k] ?? 0), 0);
  expect(outs.every((o) => o.apiCalls === undefined)).toBe(true);
  expect([sum('company', 'apiCalls'), sum('company', 'records'), sum('company', 'written')]).toEqual([1, 6, 6]);
  expect([sum('salesPerson', 'apiCalls'), sum('salesPerson', 'records'), sum('salesPerson', 'written')]).toEqual([1, 3, 3]);
  expect(await pendingPersons('preload-on')).toBe(0);
  expect(await mislinked()).toBe(0);

  // A later batch naming known keys asks Marketo nothing.
  const again = await sink.write(rows, { runId: 'preload-on', source: BOTH });
  expect(again).toEqual({ written: rows.length, failed: 0 });
});

test('without preload in the source, the sink asks Marketo nothing', async () => {
  const rows = await exportedRows(h.marketo);
  const sink = leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const before = h.emulator.runtime.stats.snapshot().endpoints['GET /rest/v1/companies.json']?.counted ?? 0;
  expect(await sink.write(rows, { runId: 'preload-off', source: { kind: 'leads' } })).toEqual({ written: rows.length, failed: 0 });
  expect(h.emulator.runtime.stats.snapshot().endpoints['GET /rest/v1/companies.json']?.counted ?? 0).toBe(before);
});
