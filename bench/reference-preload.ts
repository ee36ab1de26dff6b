/**
 * The lead ingest's reference preload, ways side by side in one process:
 *   npx tsx bench/reference-preload.ts [--leads 200000] [--companies 20000] [--salespersons 5000] [--ways session5,line] [--rounds 1]
 * Seeds the emulator with leads naming companies and salespersons at random (the 1M bootstrap's
 * density by default: 20,000 companies and 5,000 salespersons; the first 200,000 leads of that run
 * name keys as these do) and drives the lead sink as `ingestBulkExport` does: windows of
 * `--window-rows` leads in createdAt order, `--windows-at-once` of them ingesting at once, each
 * with `--write-concurrency` batches of `--batch` rows in flight. Each way writes into a fresh
 * database (state store and CRM), so every way inserts the same persons and records.
 * Ways: `session5` = the preloader as session 5 left it (each batch asks for its own new keys;
 * keys in flight shared), kept here as the baseline; `line` = activities/bootstrap-reference-preload.ts.
 * Prints per way: Get calls at the emulator against ceil(keys / 300), the calls credited in the
 * batches' outcomes, persons left for the link steps, wall time and the load average.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { referencePreloader, type PreloadKind, type ReferencePreloader } from '../activities/bootstrap-reference-preload.js';
import { salesObjectLoader, type LoadOutcome, type SalesObjectLoader } from '../activities/sales-object-loader.js';
import { leadsSink } from '../activities/sinks/leads.js';
import type { IngestBatchOutcome } from '../activities/ingest-sink.js';
import { startEmulator } from '../emulator/index.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { MarketoClient } from '../src/marketo/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { StateStore } from '../src/store/state-store.js';

const WAYS = ['session5', 'line'] as const;
type Way = (typeof WAYS)[number];

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  companies: z.coerce.number().int().min(1),
  salespersons: z.coerce.number().int().min(1),
  batch: z.coerce.number().int().min(10),
  windowRows: z.coerce.number().int().min(10),
  windowsAtOnce: z.coerce.number().int().min(1),
  writeConcurrency: z.coerce.number().int().min(1),
  ways: z.string().transform((s, ctx) => {
    const ways = s.split(',').map((w) => w.trim());
    for (const w of ways) if (!(WAYS as readonly string[]).includes(w)) ctx.addIssue({ code: 'custom', message: `unknown way '${w}' (ways: ${WAYS.join(', ')})` });
    return ways as Way[];
  }),
  rounds: z.coerce.number().int().min(1),
});

/** Session 5's preloader (commit 8f4982b), the baseline: a batch asks for the keys it newly names, at once. */
function session5Preloader(loader: Pick<SalesObjectLoader, 'staging' | 'loadByKeys'>): ReferencePreloader {
  const inFlight = new Map<string, Promise<void>>();
  const slot = (runId: string, kind: PreloadKind, key: string) => `${runId}\u0000${kind}\u0000${key}`;
  return {
    writing: (_runId, write) => write(),
    async preload(runId, kind, keys) {
      const others: Promise<void>[] = [];
      const candidates: string[] = [];
      for (const key of new Set(keys)) {
        const running = inFlight.get(slot(runId, kind, key));
        if (running) others.push(running);
        else candidates.push(key);
      }
      let loaded: LoadOutcome = { records: 0, written: 0, failed: 0, apiCalls: 0 };
      if (candidates.length > 0) {
        const { rows } = await loader.staging.pool.query<{ key: string }>(`SELECT key FROM ${loader.staging.loaded} WHERE run_id = $1 AND kind = $2 AND key = ANY($3::text[])`, [runId, kind, candidates]);
        const done = new Set(rows.map((r) => r.key));
        const fresh: string[] = [];
        for (const key of candidates) {
          if (done.has(key)) continue;
          const running = inFlight.get(slot(runId, kind, key));
          if (running) others.push(running);
          else fresh.push(key);
        }
        if (fresh.length > 0) {
          const load = loader.loadByKeys(runId, kind, fresh);
          const settled = load.then(
            () => undefined,
            () => undefined,
          );
          for (const key of fresh) inFlight.set(slot(runId, kind, key), settled);
          void settled.then(() => {
            for (const key of fresh) if (inFlight.get(slot(runId, kind, key)) === settled) inFlight.delete(slot(runId, kind, key));
          });
          loaded = await load;
        }
      }
      await Promise.all(others);
      return loaded;
    },
  };
}

async function load1(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ')[0]!;
}

async function main(): Promise<void> {
  const cli = new Command()
    .option('--leads <n>', 'leads seeded (and ingested)', '200000')
    .option('--companies <n>', 'companies the leads name at random', '20000')
    .option('--salespersons <n>', 'salespersons the leads name at random', '5000')
    .option('--batch <n>', 'rows per sink write', '2000')
    .option('--window-rows <n>', 'leads per export window (the 1M run: ~17,000)', '17000')
    .option('--windows-at-once <n>', 'windows ingesting at once (the 1M run: 3.1 on average)', '3')
    .option('--write-concurrency <n>', 'batch writes of one window in flight', '2')
    .option('--ways <list>', `ways, in this order each round: ${WAYS.join(', ')}`, WAYS.join(','))
    .option('--rounds <n>', 'rounds of every way', '1');
  const opts = Options.parse(cli.parse(process.argv).opts());
  const log = (line: string) => process.stdout.write(line + '\n');

  log(`seeding ${opts.leads} leads, ${opts.companies} companies, ${opts.salespersons} salespersons…`);
  const emulator = await startEmulator({
    clientId: 'bench-id',
    clientSecret: 'bench-secret',
    seed: { leads: opts.leads, companies: opts.companies, salespersons: opts.salespersons, opportunities: 0, programs: 0, lists: 0, customObjects: 0 },
  });
  const cluster = process.env.DATABASE_URL ?? (await ensureLocalPostgres({ dataDir: '.data/preload-bench-postgres' })).url;
  const admin = new pg.Client({ connectionString: cluster });
  await admin.connect();
  const ids = [...emulator.subscription.leads.ids()].sort((a, b) => a - b);
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'bench-id', clientSecret: 'bench-secret' });
  let fields: string[] | undefined;
  /** Rows of leads [from, to) as a CSV export gives them: every value text, null when empty. */
  const rowsOf = (from: number, to: number): RecordRow[] =>
    ids.slice(from, to).map((id) => {
      const row: RecordRow = {};
      for (const f of fields!) {
        const v = f === 'id' ? id : emulator.subscription.leadValue(id, f);
        row[f] = v === null || v === undefined || v === "" ? null : String(v);
      }
      return row;
    });
  const distinct = (field: string) => new Set(ids.map((id) => emulator.subscription.leadValue(id, field)).filter((v) => v !== null && v !== undefined && v !== '')).size;
  const minimum = { companies: Math.ceil(distinct('externalCompanyId') / 300), salespersons: Math.ceil(distinct('externalSalesPersonId') / 300) };
  log(`keys named: ${distinct('externalCompanyId')} companies, ${distinct('externalSalesPersonId')} salespersons; the minimum: ${minimum.companies} + ${minimum.salespersons} Gets`);
  log('| round | way | company Gets (min) | salesperson Gets (min) | credited to batches | persons left to link steps | wall s | leads/s | load before → after |');
  log('|---|---|---|---|---|---|---|---|---|');
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      for (const way of opts.ways) {
        const db = `bench_preload_${way}_${Date.now()}`;
        await admin.query(`CREATE DATABASE ${db}`);
        const url = new URL(cluster);
        url.pathname = `/${db}`;
        const store = await StateStore.open({ connectionString: url.toString() });
        const crm = await PostgresCrmConnector.open({ connectionString: url.toString() });
        try {
          const deps = { marketo, store, crm };
          const real = salesObjectLoader(deps);
          // Keys per load (one load = ceil(keys / 300) Gets), to see where partial Gets come from.
          const sizes: number[] = [];
          const loader = { staging: real.staging, loadByKeys: (runId: string, kind: 'company' | 'salesPerson' | 'opportunity', keys: readonly string[]) => (sizes.push(keys.length), real.loadByKeys(runId, kind, keys)) };
          const sink = leadsSink(deps, { preloader: way === 'session5' ? session5Preloader(loader) : referencePreloader(loader) });
          fields ??= ((await sink.exportRequest({ kind: 'leads' }, { startAt: '2000-01-01T00:00:00Z', endAt: '2100-01-01T00:00:00Z' })) as { fields: string[] }).fields;
          const runId = `bench-${way}-${round}`;
          const source = { kind: 'leads' as const, preload: ['company', 'salesPerson'] as PreloadKind[] };
          const stats = emulator.runtime.stats;
          const count = (p: string) => stats.snapshot().endpoints[p]?.counted ?? 0;
          const before = { companies: count('GET /rest/v1/companies.json'), salespersons: count('GET /rest/v1/salespersons.json') };
          const outs: IngestBatchOutcome[] = [];
          const loadBefore = await load1();
          const started = Date.now();
          // Windows in createdAt order, `windowsAtOnce` at a time, each with `writeConcurrency` batches in flight.
          let nextWindow = 0;
          const windows = Math.ceil(ids.length / opts.windowRows);
          const ingestWindow = async (w: number) => {
            const end = Math.min(ids.length, (w + 1) * opts.windowRows);
            const inflight = new Set<Promise<void>>();
            for (let at = w * opts.windowRows; at < end; at += opts.batch) {
              while (inflight.size >= opts.writeConcurrency) await Promise.race(inflight);
              const rows = rowsOf(at, Math.min(end, at + opts.batch));
              const p: Promise<void> = sink.write(rows, { runId, source }).then((o) => {
                outs.push(o);
                inflight.delete(p);
              });
              inflight.add(p);
            }
            await Promise.all(inflight);
          };
          await Promise.all(
            Array.from({ length: opts.windowsAtOnce }, async () => {
              while (nextWindow < windows) await ingestWindow(nextWindow++);
            }),
          );
          const wallS = (Date.now() - started) / 1000;
          const gets = { companies: count('GET /rest/v1/companies.json') - before.companies, salespersons: count('GET /rest/v1/salespersons.json') - before.salespersons };
          const credited = outs.reduce((n, o) => n + (o.loaded?.company?.apiCalls ?? 0) + (o.loaded?.salesPerson?.apiCalls ?? 0), 0);
          const { rows } = await store.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${store.schema}.bootstrap_person_refs WHERE run_id = $1
               AND ((person_type = 'contact' AND external_company_id IS NOT NULL AND NOT account_linked) OR (external_sales_person_id IS NOT NULL AND NOT owner_linked))`,
            [runId],
          );
          log(
            `| ${round} | ${way} | ${gets.companies} (${minimum.companies}) | ${gets.salespersons} (${minimum.salespersons}) | ${credited} | ${rows[0]!.n} | ${wallS.toFixed(1)} | ${(ids.length / wallS).toFixed(0)} | ${loadBefore} → ${await load1()} |`,
          );
          if (process.env.PRELOAD_SIZES) log(`  keys per load, in order: ${sizes.join(' ')}`);
        } finally {
          await store.close();
          await crm.close();
          await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        }
      }
    }
  } finally {
    await admin.end();
    await emulator.close();
  }
}

await main();
