/**
 * Bootstrap benchmark (acceptance point of issue 5):
 *   npx tsx bench/bootstrap.ts [--leads 1000000] [--years 5] [--rate 5000] [--copy-rate 69738]
 * Seeds the emulator with N leads spread over Y years (plus its default companies, salespersons,
 * opportunities and roles), sets the emulator's export processing to `rate` rows/s per job, and
 * runs the `bootstrap` workflow on a Temporal dev server with a worker in its own process into a
 * fresh Postgres CRM. Reports: wall time / the lower bound of 2 concurrent export jobs
 * (Σrows / 2·rate; goal ≤ 1.15), ingest rows/s / the CRM's plain COPY rate (from
 * bench/crm-upsert.ts, goal ≥ 0.4), the worker's peak RSS (VmHWM; goal ≤ 300 MB), and the
 * API calls used / the minimum the plan needs (4 per window + 3 describes).
 * Uses DATABASE_URL, or starts a local cluster in .data/.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { configureBulk } from '../emulator/bulk/service.js';
import { startEmulator } from '../emulator/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import type { bulkExport } from '../workflows/bulk-export.js';
import { bootstrap } from '../workflows/index.js';

const Options = z.object({
  leads: z.coerce.number().int().min(100),
  years: z.coerce.number().int().min(1).max(15),
  rate: z.coerce.number().int().min(1),
  copyRate: z.coerce.number().positive(),
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
    .option('--copy-rate <n>', 'plain COPY rows/s from bench/crm-upsert.ts on this machine', '69738');
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

  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal') } });
  const taskQueue = 'bench-bootstrap';
  const worker = spawn(process.execPath, ['--import', 'tsx', 'bench/bootstrap-worker.ts'], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: taskQueue, MARKETO_URL: emulator.url, DATABASE_URL: url.toString() },
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
    // VmHWM includes the worker's start-up (bundling the workflow code); sampling VmRSS shows the load itself.
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
          entities: { leads: { enabled: true } },
          // Scaled down with the emulator: polls stay well under one job's processing time.
          poll: { initialMs: 250, maxMs: 1_000, queueFullMs: 1_000 },
        },
      ],
    });
    const wallMs = Date.now() - started;
    clearInterval(sampler);
    const rss = await rssMb(worker.pid!, 'VmHWM');
    const phase = result.progress.phases.leads!;
    const windows = await Promise.all(
      Array.from({ length: phase.windowsTotal }, (_, i) => env.client.workflow.getHandle<typeof bulkExport>(`${workflowId}/leads/${i}`).result()),
    );
    const rows = windows.reduce((n, w) => n + w.rows, 0);
    const ingestMs = windows.reduce((n, w) => n + (w.ingestMs ?? 0), 0);
    const boundMs = Math.max((rows / (2 * opts.rate)) * 1000, ...windows.map((w) => (w.rows / opts.rate) * 1000));
    const crmDb = new pg.Client({ connectionString: url.toString() });
    await crmDb.connect();
    const counted = (await crmDb.query<{ n: string }>('SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS n')).rows;
    await crmDb.end();
    const calls = Object.values(emulator.runtime.stats.snapshot().endpoints).reduce((n, e) => n + e.counted, 0);
    const minimum = 4 * phase.windowsTotal + 3;
    const ingestRate = rows / (ingestMs / 1000);
    log(`windows ${phase.windowsTotal}, rows ${rows}, written ${phase.written}, failed ${phase.failed}, CRM persons ${counted[0]!.n}`);
    log(`wall time ${(wallMs / 1000).toFixed(1)} s; lower bound (2 jobs × ${opts.rate} rows/s) ${(boundMs / 1000).toFixed(1)} s; ratio ${(wallMs / boundMs).toFixed(3)} (goal ≤ 1.15)`);
    log(`ingest ${ingestRate.toFixed(0)} rows/s per download stream; vs COPY ${opts.copyRate} rows/s: ${(ingestRate / opts.copyRate).toFixed(2)} (goal ≥ 0.4)`);
    log(`worker peak RSS ${rss.toFixed(0)} MB including start-up; ${sampledPeak.toFixed(0)} MB sampled during the load (goal ≤ 300)`);
    log(`API calls ${calls} (export calls ${phase.apiCalls}); plan minimum ${minimum}; ratio ${(calls / minimum).toFixed(2)}`);
  } finally {
    worker.kill('SIGTERM');
    await env.teardown();
    await emulator.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

await main();
