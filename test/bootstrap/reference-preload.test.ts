import { referencePreloader } from '../../activities/bootstrap-reference-preload.js';
import { salesObjectLoader } from '../../activities/sales-object-loader.js';
import { leadsSink } from '../../activities/sinks/leads.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import type { MarketoClient } from '../../src/marketo/index.js';
import type { ObjectApi } from '../../src/marketo/objects.js';
import type { IngestBatchOutcome } from '../../activities/ingest-sink.js';
import { startMarketingServices, type MarketingHarness } from '../marketing/support.js';
import { exportShapedRows } from './support.js';

// The lead ingest loads the companies and salespersons a batch names before writing it, so the
// persons go in with account and owner set and nothing is left for the link steps. The keys of
// concurrent batches share Gets of up to 300. Real HTTP to the emulator, real Postgres; the sink
// is called as ingestBulkExport calls it.
let h: Omit<MarketingHarness, 'taskQueue'>;
let rows: RecordRow[];
const WINDOW = { startAt: '2000-01-01T00:00:00Z', endAt: '2100-01-01T00:00:00Z' };
const BOTH = { kind: 'leads' as const, preload: ['company' as const, 'salesPerson' as const] };
const COMPANIES = 'GET /rest/v1/companies.json';
const SALESPERSONS = 'GET /rest/v1/salespersons.json';

beforeAll(async () => {
  // More than 300 companies and salespersons named, so Gets can be full or partial.
  h = await startMarketingServices({ seed: { leads: 1200, companies: 700, salespersons: 400, opportunities: 0, programs: 0, lists: 0, customObjects: 0 } });
  const sink = leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const request = (await sink.exportRequest({ kind: 'leads' }, WINDOW)) as { fields: string[] };
  const all = [...h.emulator.subscription.leads.ids()].sort((a, b) => a - b);
  rows = [];
  // Read 300 at a time (Marketo's filter limit), in id order as an export by createdAt gives them.
  for (let at = 0; at < all.length; at += 300) rows.push(...(await exportShapedRows(h.marketo, all.slice(at, at + 300), request.fields)));
});

afterAll(async () => {
  await h?.close();
});

const counted = (path: string): number => h.emulator.runtime.stats.snapshot().endpoints[path]?.counted ?? 0;

/** Calls at the emulator to each path while `work` runs. */
async function callsDuring<T>(work: () => Promise<T>): Promise<{ out: T; companies: number; salesPersons: number }> {
  const before = [counted(COMPANIES), counted(SALESPERSONS)];
  const out = await work();
  return { out, companies: counted(COMPANIES) - before[0]!, salesPersons: counted(SALESPERSONS) - before[1]! };
}

function distinct(batch: readonly RecordRow[], field: string): Set<string> {
  return new Set(batch.map((r) => r[field]).filter((v): v is string => typeof v === 'string' && v !== ''));
}

/** Persons of the run still waiting for a link step (an account or owner their batch could not set). */
async function pendingPersons(runId: string): Promise<number> {
  const { rows: r } = await h.store.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${h.store.schema}.bootstrap_person_refs WHERE run_id = $1
       AND ((person_type = 'contact' AND external_company_id IS NOT NULL AND NOT account_linked)
            OR (external_sales_person_id IS NOT NULL AND NOT owner_linked))`,
    [runId],
  );
  return r[0]!.n;
}

/** CRM persons whose account or owner is not the one their Marketo keys name. */
async function mislinked(): Promise<number> {
  const { rows: r } = await h.crm.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT c.account_id, c.owner_id, c.marketo_lead_id FROM crm.contacts c UNION ALL SELECT NULL, l.owner_id, l.marketo_lead_id FROM crm.leads l) p
     WHERE p.marketo_lead_id = ANY($1::bigint[]) AND (p.account_id IS DISTINCT FROM (SELECT id FROM crm.accounts a WHERE a.external_company_id = ($2::jsonb ->> p.marketo_lead_id::text))
        OR p.owner_id IS DISTINCT FROM (SELECT id FROM crm.users u WHERE u.external_sales_person_id = ($3::jsonb ->> p.marketo_lead_id::text)))`,
    [ids(), JSON.stringify(keysById('externalCompanyId', true)), JSON.stringify(keysById('externalSalesPersonId', false))],
  );
  return r[0]!.n;
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

/** The real client, except that `kind`'s Get fails whenever `fails` says so for its filter values. */
function failing(kind: 'companies' | 'salesPersons', fails: (values: readonly string[]) => boolean): MarketoClient {
  const real = h.marketo[kind];
  const get: ObjectApi['get'] = (q) => (fails(q.filterValues.map(String)) ? Promise.reject(new Error('Marketo is unreachable')) : real.get(q));
  return Object.create(h.marketo, { [kind]: { value: Object.assign(Object.create(real) as ObjectApi, { get }) } }) as MarketoClient;
}

function sumLoaded(outs: readonly IngestBatchOutcome[], kind: 'company' | 'salesPerson', k: 'records' | 'written' | 'failed' | 'apiCalls'): number {
  return outs.reduce((n, o) => n + (o.loaded?.[kind]?.[k] ?? 0), 0);
}

/** Batches of `size` rows starting every `step` rows: neighbours name overlapping keys. */
function overlapping(size: number, step: number): RecordRow[][] {
  const out: RecordRow[][] = [];
  for (let at = 0; at < rows.length; at += step) out.push(rows.slice(at, at + size));
  return out;
}

test('a failed preload still writes the batch; its persons wait for the link steps', async () => {
  const down = () => true;
  const marketo = Object.create(failing('companies', down), { salesPersons: { value: failing('salesPersons', down).salesPersons } }) as MarketoClient;
  const batch = rows.slice(0, 100);
  const out = await leadsSink({ marketo, store: h.store, crm: h.crm }).write(batch, { runId: 'preload-down', source: BOTH });
  expect(out).toEqual({ written: batch.length, failed: 0 });
  expect(await pendingPersons('preload-down')).toBe(batch.length);
  const { rows: accounts } = await h.crm.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM crm.accounts');
  expect(accounts[0]!.n).toBe(0);
  // Nothing was recorded as attempted: a later batch (or the companies phase) asks again.
  const again = await callsDuring(() => leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm }).write(batch, { runId: 'preload-down', source: BOTH }));
  expect(again.companies).toBe(Math.ceil(distinct(batch, 'externalCompanyId').size / 300));
});

test('one failed Get of several: its keys are left to the link steps, the other calls count', async () => {
  const batch = rows.slice(0, 600);
  let failedKeys: string[] = [];
  // The call holding the first company key fails; the others go through.
  const first = [...distinct(batch, 'externalCompanyId')].sort()[0]!;
  const marketo = failing('companies', (values) => {
    if (!values.includes(first)) return false;
    failedKeys = [...values];
    return true;
  });
  const sink = leadsSink({ marketo, store: h.store, crm: h.crm });
  const { out, companies } = await callsDuring(() => sink.write(batch, { runId: 'preload-partial', source: BOTH }));
  expect(failedKeys.length).toBeGreaterThan(0);
  const wanted = Math.ceil(distinct(batch, 'externalCompanyId').size / 300);
  expect(companies).toBe(wanted - 1);
  expect(out.loaded?.company?.apiCalls).toBe(wanted - 1);
  const failed = new Set(failedKeys);
  // Contacts whose company was in the failed call, and only those, wait for the link steps.
  expect(await pendingPersons('preload-partial')).toBe(batch.filter((r) => failed.has(String(r.externalCompanyId))).length);
});

test('concurrent batches naming overlapping keys share full Gets: ceil(distinct keys / 300) calls, each counted once', async () => {
  const sink = leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const batches = overlapping(400, 300);
  const { out: outs, companies, salesPersons } = await callsDuring(() => Promise.all(batches.map((b) => sink.write(b, { runId: 'preload-on', source: BOTH }))));
  const wanted = { company: Math.ceil(distinct(rows, 'externalCompanyId').size / 300), salesPerson: Math.ceil(distinct(rows, 'externalSalesPersonId').size / 300) };
  expect(wanted.company).toBeGreaterThan(1);
  expect({ companies, salesPersons }).toEqual({ companies: wanted.company, salesPersons: wanted.salesPerson });
  // Counted as the companies' and salespersons' loads (the parent adds them to those phases), not as lead calls.
  expect(outs.every((o) => o.apiCalls === undefined)).toBe(true);
  const found = (kind: 'companies' | 'salespersons') => h.crm.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM crm.${kind === 'companies' ? 'accounts' : 'users'}`);
  expect([sumLoaded(outs, 'company', 'apiCalls'), sumLoaded(outs, 'company', 'records'), sumLoaded(outs, 'company', 'written')]).toEqual([companies, distinct(rows, 'externalCompanyId').size, (await found('companies')).rows[0]!.n]);
  expect([sumLoaded(outs, 'salesPerson', 'apiCalls'), sumLoaded(outs, 'salesPerson', 'records')]).toEqual([salesPersons, distinct(rows, 'externalSalesPersonId').size]);
  expect(await pendingPersons('preload-on')).toBe(0);
  expect(await mislinked()).toBe(0);

  // A resumed run (another process: nothing remembered in memory) asks Marketo nothing again.
  const resumed = await callsDuring(() => leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm }).write(rows, { runId: 'preload-on', source: BOTH }));
  expect(resumed).toEqual({ out: { written: rows.length, failed: 0 }, companies: 0, salesPersons: 0 });
});

test('while a batch writes, a partial Get waits for the keys of the batch that follows; alone, it goes out at once', async () => {
  const real = salesObjectLoader({ marketo: h.marketo, store: h.store, crm: h.crm });
  // The real loader, observed: when a batch has sorted its keys (its state store query answered) and each load.
  let loads = 0;
  let checked: (() => void) | undefined;
  const query = ((...args: Parameters<typeof real.staging.pool.query>) =>
    (real.staging.pool.query as (...a: unknown[]) => Promise<unknown>)(...args).then((r) => {
      checked?.();
      return r;
    })) as typeof real.staging.pool.query;
  const staging = Object.create(real.staging, { pool: { value: { query } } }) as typeof real.staging;
  const preloader = referencePreloader({ staging, loadByKeys: (...a) => ((loads += 1), real.loadByKeys(...a)) });
  const sorted = () => new Promise<void>((resolve) => (checked = () => setImmediate(resolve)));
  const keys = [...distinct(rows, 'externalCompanyId')].sort();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { out, companies } = await callsDuring(async () => {
    const writing = preloader.writing('preload-hold', () => gate);
    let ready = sorted();
    const b = preloader.preload('preload-hold', 'company', keys.slice(0, 10));
    await ready;
    // b's keys are in line behind the writer: no call yet.
    expect(loads).toBe(0);
    ready = sorted();
    const c = preloader.preload('preload-hold', 'company', keys.slice(5, 20));
    await ready;
    expect(loads).toBe(0);
    release();
    await writing;
    return Promise.all([b, c]);
  });
  expect([loads, companies]).toEqual([1, 1]);
  // The one call is credited to one batch.
  expect(out.map((o) => o.apiCalls).sort()).toEqual([0, 1]);
  expect(out[0]!.records + out[1]!.records).toBe(20);

  // Nothing writing, nothing else coming: a batch of two new keys is not kept waiting.
  const alone = await callsDuring(() => preloader.preload('preload-hold', 'company', keys.slice(20, 22)));
  expect([alone.companies, alone.out.apiCalls, alone.out.records]).toEqual([1, 1, 2]);
});

test('without preload in the source, the sink asks Marketo nothing', async () => {
  const sink = leadsSink({ marketo: h.marketo, store: h.store, crm: h.crm });
  const batch = rows.slice(0, 200);
  const { out, companies, salesPersons } = await callsDuring(() => sink.write(batch, { runId: 'preload-off', source: { kind: 'leads' } }));
  expect({ out, companies, salesPersons }).toEqual({ out: { written: batch.length, failed: 0 }, companies: 0, salesPersons: 0 });
});

