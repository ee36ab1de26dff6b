/**
 * The bootstrap's CRM write path on its own, no Temporal (issue 5's ingest ratio):
 *   npx tsx bench/bootstrap-writes.ts [--leads 20000] [--batch 5000] [--repeat 200]
 * Seeds the emulator with N leads (companies N/50, salespersons N/200), reads them once as text
 * rows (what a CSV export gives), then writes them into fresh databases two ways, in one process so
 * the machine's load weighs on both alike:
 *   - linked later: persons written before their companies and salespersons exist, then the
 *     link steps (one pass per person setting account and owner);
 *   - linked at write: companies and salespersons loaded first, persons written with both set.
 * Then the transaction opening of the CRM upsert, both ways: BEGIN and set_config as two round
 * trips (before) or one simple-protocol query (now). Uses DATABASE_URL, or a local cluster in .data/.
 */
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { writeLeadBatch } from '../activities/bootstrap-leads.js';
import { createSalesActivities } from '../activities/bootstrap-sales.js';
import { BootstrapStaging } from '../activities/bootstrap-staging.js';
import { startEmulator } from '../emulator/index.js';
import { inTransaction } from '../src/crm/postgres/db.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { MarketoClient } from '../src/marketo/index.js';
import { loadPersonMapping } from '../src/reconcile/person-mapping.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { StateStore } from '../src/store/state-store.js';

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  batch: z.coerce.number().int().min(100),
  repeat: z.coerce.number().int().min(1),
});

const cli = new Command()
  .option('--leads <n>', 'leads to write', '20000')
  .option('--batch <n>', 'rows per writeLeadBatch call (the bench default of the ingest)', '5000')
  .option('--repeat <n>', 'transactions per way in the round-trip comparison', '200');
const opts = Options.parse(cli.parse(process.argv).opts());
const log = (line: string) => process.stdout.write(line + '\n');

const emulator = await startEmulator({
  clientId: 'bw-id',
  clientSecret: 'bw-secret',
  seed: { leads: opts.leads, opportunities: 0, programs: 0, lists: 0, customObjects: 0, changeRate: 0 },
});
const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'bw-id', clientSecret: 'bw-secret' });
const baseUrl = process.env.DATABASE_URL ?? (await ensureLocalPostgres({ dataDir: '.data/bench-postgres' })).url;
const admin = new pg.Client({ connectionString: baseUrl });
await admin.connect();
const databases: string[] = [];

async function freshDatabase(name: string): Promise<{ store: StateStore; crm: PostgresCrmConnector }> {
  const db = `bench_writes_${name.toLowerCase()}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  databases.push(db);
  const url = new URL(baseUrl);
  url.pathname = `/${db}`;
  return { store: await StateStore.open({ connectionString: url.toString() }), crm: await PostgresCrmConnector.open({ connectionString: url.toString() }) };
}

try {
  const first = await freshDatabase('mapping');
  const mapping = await loadPersonMapping({ marketo, crm: first.crm, currentMapping: async () => undefined }, { csv: true });
  const ids = [...emulator.subscription.leads.ids()].sort((a, b) => a - b);
  const rows: RecordRow[] = [];
  for (let i = 0; i < ids.length; i += 300) {
    for await (const page of marketo.leads.iterateByFilter({ filterType: 'id', filterValues: ids.slice(i, i + 300).map(String), fields: mapping.exportFields })) {
      for (const item of page.items) rows.push(Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v)])));
    }
  }
  rows.sort((a, b) => Number(a.id) - Number(b.id));
  log(`seeded ${JSON.stringify(emulator.seedSummary)}; ${rows.length} rows read`);

  async function run(name: string, targetsFirst: boolean): Promise<void> {
    const { store, crm } = await freshDatabase(name);
    const staging = new BootstrapStaging(store.pool, store.schema);
    const sales = createSalesActivities({ marketo, store, crm });
    const runId = `bench-${name}`;
    const loadTargets = async () => {
      for (const kind of ['company', 'salesPerson'] as const) while ((await sales.loadSalesObjects({ runId, kind, maxKeys: 3000 })).taken === 3000);
    };
    if (targetsFirst) {
      // The keys the leads name, staged as the ingest would have by then, so the targets load first.
      const keys = [...new Set(rows.map((r) => `company\u0000${r.externalCompanyId}`)), ...new Set(rows.map((r) => `salesPerson\u0000${r.externalSalesPersonId}`))].map((k) => k.split('\u0000'));
      await store.pool.query(`INSERT INTO ${staging.keys} (run_id, kind, key) SELECT $1, * FROM unnest($2::text[], $3::text[])`, [runId, keys.map((k) => k[0]), keys.map((k) => k[1])]);
      await loadTargets();
    }
    const t0 = performance.now();
    let written = 0;
    for (let i = 0; i < rows.length; i += opts.batch) written += (await writeLeadBatch({ crm, store, staging }, mapping, runId, rows.slice(i, i + opts.batch))).written;
    const writeMs = performance.now() - t0;
    if (!targetsFirst) await loadTargets();
    const t1 = performance.now();
    let linked = 0;
    let steps = 0;
    for (;;) {
      const out = await sales.linkSalesReferences({ runId, target: 'contactAccounts', limit: 10_000 });
      steps += 1;
      linked += out.written;
      if (out.taken < 10_000) break;
    }
    const linkMs = performance.now() - t1;
    const { rows: check } = await crm.pool.query<{ n: string }>(`SELECT count(*) AS n FROM crm.contacts WHERE account_id IS NULL OR owner_id IS NULL`);
    log(
      `${name.padEnd(16)} persons ${written} in ${(writeMs / 1000).toFixed(2)} s (${(written / (writeMs / 1000)).toFixed(0)} rows/s); ` +
        `link steps ${steps}, ${linked} persons updated in ${(linkMs / 1000).toFixed(2)} s; total ${((writeMs + linkMs) / 1000).toFixed(2)} s ` +
        `(${(written / ((writeMs + linkMs) / 1000)).toFixed(0)} rows/s); contacts without account or owner: ${check[0]!.n}`,
    );
    await store.close();
    await crm.close();
  }

  // Alternated so a change of the machine's load between them shows as noise, not as a difference.
  for (const round of [1, 2]) {
    await run(`later${round}`, false);
    await run(`atWrite${round}`, true);
  }

  // Transaction opening: the two round trips it took before, against inTransaction now.
  const pool = first.crm.pool;
  const before = async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('crmsync.origin', $1, true), set_config('crmsync.merged_into', $2, true)", ['sync', '']);
      await client.query('SELECT 1');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  const now = () => inTransaction(pool, 'sync', (client) => client.query('SELECT 1'));
  for (const round of [1, 2]) {
    for (const [name, fn] of [['BEGIN, set_config apart', before], ['BEGIN+set_config', now]] as const) {
      const t = performance.now();
      for (let i = 0; i < opts.repeat; i++) await fn();
      log(`round ${round} ${name.padEnd(24)} ${((performance.now() - t) / opts.repeat).toFixed(2)} ms per transaction`);
    }
  }
  await first.store.close();
  await first.crm.close();
} finally {
  await emulator.close();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
}
