/**
 * CRM → Marketo lead push, REST vs Bulk Lead Import, against the emulator:
 *   npx tsx bench/push-leads.ts [--persons 20000]
 * Inserts N contacts as a CRM user, then pushes them three ways through the push activities and
 * reports Marketo calls per endpoint and wall time: REST creates, bulk updates of known leads
 * (one import by id, no id lookups), bulk creates (id lookups by the CRM key). Uses DATABASE_URL, or starts a
 * local cluster in .data/. Not a timed test: numbers depend on the machine and the emulator's
 * import pace (its default rows per second).
 */
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { createPushActivities } from '../activities/push.js';
import { startEmulator } from '../emulator/index.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { StateStore } from '../src/store/state-store.js';

const Options = z.object({ persons: z.coerce.number().int().min(1).max(1_000_000) });

async function main(): Promise<void> {
  const opts = Options.parse(new Command().option('--persons <n>', 'contacts to push', '20000').parse(process.argv).opts());
  const local = process.env.DATABASE_URL ? undefined : await ensureLocalPostgres({ dataDir: '.data/bench-postgres' });
  const baseUrl = process.env.DATABASE_URL ?? local!.url;
  const dbName = `bench_push_${Date.now()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  const emulator = await startEmulator({ clientId: 'bench', clientSecret: 'bench' });
  emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const store = await StateStore.open({ connectionString: url.toString() });
  const crm = await PostgresCrmConnector.open({ connectionString: url.toString() });
  const user = await PostgresCrmConnector.open({ connectionString: url.toString(), writeOrigin: 'user' });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'bench', clientSecret: 'bench' });
  const log = (line: string) => process.stdout.write(line + '\n');
  try {
    const rest = createPushActivities({ marketo, store, crm, pushOptions: { bulkThreshold: 1_000_000_000, bulkUpdateThreshold: 1_000_000_000, maxRecordsPerRun: 10_000_000 } });
    const bulk = createPushActivities({ marketo, store, crm, pushOptions: { bulkThreshold: 1, bulkUpdateThreshold: 1, bulkPollIntervalMs: 1_000, maxRecordsPerRun: 10_000_000 } });
    const insert = async (tag: string): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < opts.persons; i += 10_000) {
        const batch = Array.from({ length: Math.min(10_000, opts.persons - i) }, (_, j) => ({ email: `${tag}${i + j}@bench.example`, first_name: `F${i + j}`, last_name: `L${i + j}`, title: 'Engineer' }));
        for (const r of await user.upsert('contact', batch, { keyField: 'id' })) if (r.status !== 'failed') ids.push(r.id);
      }
      return ids;
    };
    const measure = async (label: string, run: () => Promise<{ written: number; skipped: number; mode?: string }>) => {
      const before = emulator.runtime.stats.snapshot().endpoints;
      const t = performance.now();
      const summary = await run();
      const ms = performance.now() - t;
      const after = emulator.runtime.stats.snapshot().endpoints;
      const calls = Object.entries(after)
        .map(([k, v]) => [k, v.calls - (before[k]?.calls ?? 0)] as const)
        .filter(([k, n]) => n > 0 && !k.includes('/identity/') && !k.includes('describe'));
      log(`${label}: ${summary.written} written, ${summary.skipped} skipped, mode ${summary.mode}, ${(ms / 1000).toFixed(1)} s, ${(summary.written / (ms / 1000)).toFixed(0)} persons/s`);
      for (const [k, n] of calls) log(`    ${String(n).padStart(6)}  ${k}`);
    };
    log(`${opts.persons} contacts per run`);
    await insert('rest');
    await measure('REST creates', () => rest.pushLeads());
    await user.pool.query(`UPDATE crm.contacts SET title = 'Manager'`);
    await measure('bulk updates (known leads)', () => bulk.pushLeads());
    await insert('bulk');
    await measure('bulk creates (ids looked up)', () => bulk.pushLeads());
  } finally {
    await store.close();
    await crm.close();
    await user.close();
    await emulator.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    // A cluster this run started is stopped again; one that was already running is left alone.
    if (local?.startedHere) await local.stop();
  }
}

await main();
