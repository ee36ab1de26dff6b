import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { writeLeadBatch } from '../../activities/bootstrap-leads.js';
import { BootstrapStaging } from '../../activities/bootstrap-staging.js';
import { ingestDigest } from '../../bench/ingest-ceiling-digest.js';
import { sqlRoute, type SqlRoute } from '../../bench/ingest-ceiling-sql.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { createExportParser, type RecordRow } from '../../src/marketo/bulk/index.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { loadPersonMapping, type PersonMapping } from '../../src/reconcile/person-mapping.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

// The ingest-ceiling bench's SQL route (COPY of the export file, INSERT ... SELECT per person
// table) must leave what the product's writeLeadBatch leaves for valid input, on a file with
// what the emulator's seed never writes: unlinked leads, targets not loaded, quoted cells with
// commas, quotes and newlines, empty quoted cells, spellings of booleans, padded values, text
// the mapping truncates, non-ASCII text. And bad input must fail the route loudly.
const RUN = 'ceiling-sql-run';
let emulator: RunningEmulator;
let mapping: PersonMapping;
const dbs: TestDatabase[] = [];
const opened: { close(): Promise<void> }[] = [];

/** One export line: cells given as CSV text (already quoted where CSV needs it); absent fields are Marketo's `null`. */
function line(fields: readonly string[], cells: Record<string, string>): string {
  for (const name of Object.keys(cells)) if (!fields.includes(name)) throw new Error(`the mapping does not export ${name}`);
  return fields.map((f) => cells[f] ?? 'null').join(',') + '\n';
}

function exportFile(fields: readonly string[]): string {
  const rows: Record<string, string>[] = [
    // An unlinked lead whose owner is loaded; padded email and integer, a phone longer than the CRM's 40 characters.
    { id: '101', externalSalesPersonId: 'SP-1', email: ' ann@example.com ', firstName: 'Ann', doNotCall: 'true', leadScore: ' 42 ', annualRevenue: '1234.5', numberOfEmployees: '7', phone: '+1 555 0100 extension 12345678901234567890', company: 'Solo', website: 'https://example.com/a' },
    // A contact linked to both; quotes, a comma and a newline in quoted cells; booleans in other spellings.
    { id: '102', externalCompanyId: 'C-1', externalSalesPersonId: 'SP-1', email: 'bob@example.com', firstName: '"O\'Brien, ""Jr"""', address: '"1 Main St\nSuite 2"', doNotCall: 'no', unsubscribed: 'Y', dateOfBirth: '1980-02-29', department: 'Sales' },
    // A contact whose company is not loaded: written without account and staged for the link step.
    { id: '103', externalCompanyId: 'C-9', email: 'cy@example.com', lastName: 'Zoë 名前', title: '""', leadScore: 'null', unsubscribed: 'FALSE' },
    // A lead whose owner is not loaded.
    { id: '104', externalSalesPersonId: 'SP-9', firstName: 'Dee', acquisitionProgramId: '1001' },
    // Every other cell empty.
    { id: '105', externalCompanyId: 'C-1' },
  ];
  return fields.join(',') + '\n' + rows.map((r) => line(fields, r)).join('');
}

/** A fresh CRM and state store with company C-1 and salesperson SP-1 loaded, as the preload leaves them. */
async function freshDatabase(): Promise<{ url: string; store: StateStore; crm: PostgresCrmConnector; staging: BootstrapStaging }> {
  const db = await createTestDatabase('ceiling_sql');
  dbs.push(db);
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  opened.push(store, crm);
  const staging = new BootstrapStaging(store.pool, store.schema);
  const account = (await crm.pool.query<{ id: string }>(`INSERT INTO crm.accounts (name, external_company_id) VALUES ('Acme', 'C-1') RETURNING id`)).rows[0]!.id;
  const user = (await crm.pool.query<{ id: string }>(`INSERT INTO crm.users (email, external_sales_person_id) VALUES ('rep@example.com', 'SP-1') RETURNING id`)).rows[0]!.id;
  await store.pool.query(`INSERT INTO ${staging.loaded} (run_id, kind, key, crm_id) VALUES ($1, 'company', 'C-1', $2), ($1, 'salesPerson', 'SP-1', $3)`, [RUN, account, user]);
  return { url: db.url, store, crm, staging };
}

async function parse(csv: string): Promise<RecordRow[]> {
  const parser = createExportParser({ kind: 'leads', format: 'CSV' });
  Readable.from([Buffer.from(csv)]).pipe(parser.stream);
  const rows: RecordRow[] = [];
  for await (const item of parser.stream as AsyncIterable<{ row?: RecordRow; malformed?: unknown }>) {
    if (item.malformed) throw new Error(`malformed row: ${JSON.stringify(item.malformed)}`);
    rows.push(item.row!);
  }
  return rows;
}

/** The SQL route over one file on one connection, as the bench runs it. */
async function runSqlRoute(url: string, route: SqlRoute, csv: string, table: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    await client.query(`SELECT set_config('crmsync.origin', 'sync', false)`);
    await client.query(route.stagingDdl(table));
    await pipeline(Readable.from([Buffer.from(csv)]), client.query(copyFrom(route.copy(table))));
    for (const type of ['lead', 'contact'] as const) await client.query(route.persons(type, table), [RUN]);
    await client.query(route.pendingRefs(table), [RUN]);
    await client.query(route.keys(table), [RUN]);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  emulator = await startEmulator({ clientId: 'cs-id', clientSecret: 'cs-secret', seed: { leads: 0, opportunities: 0, programs: 0, lists: 0, customObjects: 0 } });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'cs-id', clientSecret: 'cs-secret' });
  const db = await createTestDatabase('ceiling_sql_mapping');
  dbs.push(db);
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  opened.push(crm);
  mapping = await loadPersonMapping({ marketo, crm, currentMapping: async () => undefined }, { csv: true });
});

afterAll(async () => {
  for (const o of opened) await o.close();
  for (const db of dbs) await db.drop();
  await emulator?.close();
});

test('the SQL route leaves the persons, id map and staging rows the product leaves', async () => {
  const csv = exportFile(mapping.exportFields);
  const product = await freshDatabase();
  const out = await writeLeadBatch({ crm: product.crm, store: product.store, staging: product.staging }, mapping, RUN, await parse(csv));
  expect(out).toEqual({ written: 5, failed: 0 });

  const sql = await freshDatabase();
  const route = sqlRoute(mapping, { lead: await sql.crm.table('lead'), contact: await sql.crm.table('contact') }, sql.crm.schema, sql.staging, mapping.exportFields);
  await runSqlRoute(sql.url, route, csv, 'stage_ok');

  const digest = async (d: Awaited<ReturnType<typeof freshDatabase>>) => {
    const client = await d.crm.pool.connect();
    try {
      return await ingestDigest(client, d.crm.schema, d.staging, RUN);
    } finally {
      client.release();
    }
  };
  const expected = await digest(product);
  // The file's cases are in the product's result, so the comparison below covers them.
  expect(expected).toMatchObject({ leads: '2', contacts: '3', contacts_without_account: '1', persons_without_owner: '3', not_sync_origin: '0', id_map: '5', id_map_pointing_right: '5', staged_persons: '2', staged_keys: '4' });
  expect(await digest(sql)).toEqual(expected);
  const { rows } = await sql.crm.pool.query<{ email: string; phone: string; lead_score: number; first_name: string | null }>(`SELECT email, phone, lead_score, first_name FROM crm.leads WHERE marketo_lead_id = 101`);
  expect(rows[0]).toMatchObject({ email: 'ann@example.com', phone: '+1 555 0100 extension 123456789012345678', lead_score: 42 });
});

test('a value the mapping refuses fails the SQL route loudly, where the product sends the record to the ledger', async () => {
  const csv = mapping.exportFields.join(',') + '\n' + line(mapping.exportFields, { id: '201', externalCompanyId: 'C-1', leadScore: 'forty' });
  const product = await freshDatabase();
  expect(await writeLeadBatch({ crm: product.crm, store: product.store, staging: product.staging }, mapping, RUN, await parse(csv))).toEqual({ written: 0, failed: 1 });

  const sql = await freshDatabase();
  const route = sqlRoute(mapping, { lead: await sql.crm.table('lead'), contact: await sql.crm.table('contact') }, sql.crm.schema, sql.staging, mapping.exportFields);
  await expect(runSqlRoute(sql.url, route, csv, 'stage_bad')).rejects.toThrow(/invalid input syntax for type integer/);
  expect((await sql.crm.pool.query<{ n: string }>('SELECT count(*) AS n FROM crm.contacts')).rows[0]!.n).toBe('0');
});
