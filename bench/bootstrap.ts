/**
 * Bootstrap benchmark (acceptance point of issue 5):
 *   npx tsx bench/bootstrap.ts [--leads 1000000] [--years 5] [--rate 5000] [--copy-rate 69738] [--batch 1000]
 * Seeds the emulator with N leads spread over Y years plus their companies, salespersons,
 * opportunities and roles (the seed's defaults: N/50, N/200, N/100, 2 per opportunity), sets the
 * emulator's export processing to `rate` rows/s per job, and runs the `bootstrap` workflow with
 * leads, companies, opportunities, roles and salespersons on a Temporal dev server, with a worker
 * in its own process (workflow code bundled once here, not in the worker) into a fresh Postgres
 * CRM. Reports: wall time / the lower bound of 2 concurrent export jobs (Σ exported rows /
 * 2·rate; goal ≤ 1.15), lead ingest rows/s / the CRM's plain COPY rate (from
 * bench/crm-upsert.ts, goal ≥ 0.4), the worker's peak RSS (VmHWM; goal ≤ 300 MB), and the API
 * calls used / the minimum the plan needs.
 * Uses DATABASE_URL, or starts a local cluster in .data/.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { configureBulk } from '../emulator/bulk/service.js';
import { startEmulator } from '../emulator/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import { workflowsPath } from '../workers/worker.js';
import type { BootstrapInput } from '../workflows/bootstrap-types.js';
import type { bulkExport } from '../workflows/bulk-export.js';
import { bootstrap } from '../workflows/index.js';

const ENTITIES = ['leads', 'companies', 'opportunities', 'opportunityRoles', 'salesPersons'] as const;

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  years: z.coerce.number().int().min(1).max(15),
  rate: z.coerce.number().int().min(1),
  copyRate: z.coerce.number().positive(),
  batch: z.coerce.number().int().min(100),
  cachedWorkflows: z.coerce.number().int().min(1),
  cpuProf: z.string().min(1).optional(),
});

async function rssMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function main(): Promise<void> {
  const cli = new Command()
    .option('--leads <n>', 'leads in the emulator', '1000000')
    .option('--years <n>', 'years the createdAt dates span', '5')
    .option('--rate <n>', "emulator export processing, rows/s per job", '5000')
    .option('--copy-rate <n>', 'plain COPY rows/s from bench/crm-upsert.ts on this machine', '69738')
    .option('--batch <n>', 'rows per CRM write in the ingest', '5000')
    .option('--cached-workflows <n>', "the worker's workflow cache (each cached run holds its state in memory)", '100')
    .option('--cpu-prof <dir>', "write the worker's V8 CPU profile into this folder (on its exit)");
  const opts = Options.parse(cli.parse(process.argv).opts());
  const log = (line: string) => process.stdout.write(line + '\n');
  const root = fileURLToPath(new URL('..', import.meta.url));

  const to = new Date('2026-01-01T00:00:00Z');
  const from = new Date(to.getTime() - opts.years * 365 * 86_400_000);
  log(`seeding ${opts.leads} leads over ${opts.years} years…`);
  const emulator = await startEmulator({ clientId: 'bench-id', clientSecret: 'bench-secret', seed: { leads: opts.leads, from: from.toISOString(), to: to.toISOString() } });
  await configureBulk(emulator.subscription, { export: { rowsPerSecond: opts.rate } });
  log(`seeded: ${JSON.stringify(emulator.seedSummary)}`);

  const baseUrl = process.env.DATABASE_URL ?? (await ensureLocalPostgres({ dataDir: '.data/bench-postgres' })).url;
  const dbName = `bench_bootstrap_${Date.now()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;

  // Bundled once here: a worker that webpacks the workflow code itself holds the bundler's memory.
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => log(m) } });
  const bundlePath = path.join(await mkdtemp(path.join(os.tmpdir(), 'bench-bundle-')), 'workflows.js');
  await writeFile(bundlePath, bundle.code);

  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal') } });
  const taskQueue = 'bench-bootstrap';
  const profiling = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProf)}`] : [];
  const worker = spawn(process.execPath, [...profiling, '--import', 'tsx', 'bench/bootstrap-worker.ts'], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: taskQueue, MARKETO_URL: emulator.url, DATABASE_URL: url.toString(), WORKFLOW_BUNDLE: bundlePath, BATCH_SIZE: String(opts.batch), CACHED_WORKFLOWS: String(opts.cachedWorkflows) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
      worker.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('worker ready')) resolve();
      });
    });
    const workflowId = 'bench-bootstrap';
    const idleRss = await rssMb(worker.pid!, 'VmRSS');
    // VmHWM is the whole life of the worker process; sampling VmRSS shows the load itself.
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      void rssMb(worker.pid!, 'VmRSS').then((mb) => (sampledPeak = Math.max(sampledPeak, mb)), () => undefined);
    }, 250);
    const started = Date.now();
    const result = await env.client.workflow.execute(bootstrap, {
      taskQueue,
      workflowId,
      args: [
        {
          since: from.toISOString(),
          highWatermark: to.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          entities: Object.fromEntries(ENTITIES.map((e) => [e, { enabled: true }])) as BootstrapInput['entities'],
          // Scaled down with the emulator: polls stay well under one job's processing time.
          poll: { initialMs: 250, maxMs: 1_000, queueFullMs: 1_000 },
        },
      ],
    });
    const wallMs = Date.now() - started;
    clearInterval(sampler);
    const rss = await rssMb(worker.pid!, 'VmHWM');
    const seeded = emulator.seedSummary!;
    const leadWindows = await Promise.all(
      Array.from({ length: result.progress.phases.leads!.windowsTotal }, (_, i) => env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/leads/${i}`).result()),
    );
    // The opportunities phase counts its Get steps as steps too: its export children are the first ones, one per lead window.
    const activityWindows = await Promise.all(leadWindows.map((_, i) => env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/opportunities/${i}`).result()));
    const exports = [...leadWindows, ...activityWindows];
    const rows = exports.reduce((n, w) => n + w.rows, 0);
    const leadRows = leadWindows.reduce((n, w) => n + w.rows, 0);
    const ingestMs = leadWindows.reduce((n, w) => n + (w.ingestMs ?? 0), 0);
    const boundMs = Math.max((rows / (2 * opts.rate)) * 1000, ...exports.map((w) => (w.rows / opts.rate) * 1000));
    const crmDb = new pg.Client({ connectionString: url.toString() });
    await crmDb.connect();
    const counted = (
      await crmDb.query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS persons, (SELECT count(*) FROM crm.accounts) AS accounts,
                (SELECT count(*) FROM crm.users) AS users, (SELECT count(*) FROM crm.opportunities) AS opportunities,
                (SELECT count(*) FROM crm.opportunity_contact_roles) AS roles, (SELECT count(*) FROM crm.contacts WHERE account_id IS NULL) AS unlinked_contacts`,
      )
    ).rows[0]!;
    await crmDb.end();
    const endpoints = emulator.runtime.stats.snapshot().endpoints;
    const calls = Object.values(endpoints).reduce((n, e) => n + e.counted, 0);
    // The plan's floor: per export create + enqueue + 1 status + 1 file; 3 describes for the lead
    // mapping and 5 for the object mappings; one Get per 300 keys of each object.
    const per300 = (n: number) => Math.ceil(n / 300);
    const minimum = 4 * exports.length + 3 + 5 + per300(seeded.companies) + per300(seeded.salespersons) + per300(seeded.opportunities) + per300(seeded.roles);
    const ingestRate = leadRows / (ingestMs / 1000);
    const phases = Object.entries(result.progress.phases).filter(([, p]) => p.enabled);
    log(`seeded ${JSON.stringify({ leads: seeded.leads, companies: seeded.companies, salespersons: seeded.salespersons, opportunities: seeded.opportunities, roles: seeded.roles })}`);
    log(`CRM ${JSON.stringify(counted)}`);
    for (const [name, p] of phases) log(`  ${name.padEnd(16)} steps ${p.windowsDone}/${p.windowsTotal} records ${p.records} written ${p.written} failed ${p.failed} calls ${p.apiCalls}`);
    log(`exports ${exports.length} (${leadWindows.length} lead, ${activityWindows.length} Add to Opportunity), rows ${rows}`);
    log(`wall time ${(wallMs / 1000).toFixed(1)} s; lower bound (2 jobs × ${opts.rate} rows/s) ${(boundMs / 1000).toFixed(1)} s; ratio ${(wallMs / boundMs).toFixed(3)} (goal ≤ 1.15)`);
    log(`lead ingest ${ingestRate.toFixed(0)} rows/s per download stream (batch ${opts.batch}); vs COPY ${opts.copyRate} rows/s: ${(ingestRate / opts.copyRate).toFixed(2)} (goal ≥ 0.4)`);
    log(`worker peak RSS ${rss.toFixed(0)} MB (VmHWM); ${sampledPeak.toFixed(0)} MB sampled during the load; ${idleRss.toFixed(0)} MB when ready, before any work (goal ≤ 300)`);
    log(`API calls ${calls}; plan minimum ${minimum}; ratio ${(calls / minimum).toFixed(2)}`);
    log(`calls by endpoint ${JSON.stringify(Object.fromEntries(Object.entries(endpoints).filter(([, e]) => e.counted > 0).map(([k, e]) => [k, e.counted])))}`);
  } finally {
    // The profile is written when the worker exits, so a profiled run waits for that.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    if (opts.cpuProf) await exited;
    await env.teardown();
    await emulator.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

await main();
