/**
 * Acceptance benchmark for the on-demand path: fires N Marketo webhooks (a share of them
 * duplicates of earlier ones) at the real receiver, `concurrency` at a time (Marketo opens at most
 * 20 webhook connections per instance), on the embedded stack: Marketo emulator, Postgres CRM,
 * Temporal dev server and a worker, all started here in a throwaway data folder. Reports p50/p99
 * time from a lead's first request to its CRM row being written (the row's own `updated_at`, set
 * by Postgres on the same clock), the HTTP answer times, the Marketo calls spent, and checks that
 * each distinct lead was written exactly once (workflow write counts and CRM rows).
 *
 *   npx tsx bench/webhook.ts [--webhooks 1000] [--duplicates 0.2] [--concurrency 20] [--temporal memory|file]
 *
 * `--temporal memory` (default) runs the dev server without persistence, as a stand-in for a
 * production Temporal cluster; `file` is the embedded default's SQLite file, whose synchronous
 * writes on this machine's disk, not the sync, then set the pace.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createAppWorker, openApp } from '../client/runtime/app.js';
import { installTemporalLogging } from '../client/runtime/temporal-logging.js';
import { createWebhookServer, listen, WEBHOOK_PATH, type SyncStarter } from '../client/webhook/server.js';
import { temporalSyncStarter } from '../client/webhook/temporal-starter.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import { freePort } from '../src/services/local-postgres.js';
import { loadConfig } from '../src/config/env.js';
import type { OnDemandSyncSummary } from '../workflows/on-demand-sync.js';

const Args = z.object({
  webhooks: z.coerce.number().int().min(1).max(100_000),
  duplicates: z.coerce.number().min(0).max(0.9),
  concurrency: z.coerce.number().int().min(1).max(200),
  temporal: z.enum(['memory', 'file']),
});
const { values } = parseArgs({
  options: { webhooks: { type: 'string', default: '1000' }, duplicates: { type: 'string', default: '0.2' }, concurrency: { type: 'string', default: '20' }, temporal: { type: 'string', default: 'memory' } },
});
const args = Args.parse(values);
const DISTINCT = Math.round(args.webhooks * (1 - args.duplicates));
const SECRET = 'bench-webhook-secret-0123456789abcdef';

/** Seeded shuffle, so runs repeat: every lead once, then duplicates of random earlier leads, mixed. */
function plan(): number[] {
  let s = 7;
  const rnd = () => ((s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const order = Array.from({ length: DISTINCT }, (_, i) => i + 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Each duplicate goes somewhere after its lead's first webhook: right behind it (in flight) or later (after the run closed).
  for (let d = 0; d < args.webhooks - DISTINCT; d++) {
    const at = Math.floor(rnd() * order.length);
    const leadId = order[at]!;
    const after = at + 1 + Math.floor(rnd() * (rnd() < 0.5 ? 5 : order.length - at));
    order.splice(Math.min(after, order.length), 0, leadId);
  }
  return order;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

installTemporalLogging();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-webhook-bench-'));
chmodSync(dataDir, 0o755); // as root, Postgres runs as `postgres` and must traverse it
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: String(await freePort()),
  EMBEDDED_TEMPORAL_PORT: String(await freePort()),
  EMBEDDED_TEMPORAL_UI_PORT: String(await freePort()),
};
delete env.DATABASE_URL;
delete env.TEMPORAL_ADDRESS;
delete env.MARKETO_BASE_URL;
const temporal = args.temporal === 'memory' ? await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal'), ip: '127.0.0.1' } }) : undefined;
if (temporal) env.TEMPORAL_ADDRESS = temporal.address;
console.log(`Starting Postgres, Temporal dev server (${args.temporal}), emulator (${DISTINCT} leads) and a worker in ${dataDir}`);
const app = await openApp({ emulatorSeed: { leads: DISTINCT } }, loadConfig(env));
try {
  // Every record the worker sends to the CRM, per Marketo lead id: the ground truth for "written once".
  const upsertsPerLead = new Map<number, number>();
  const upsert = app.crm.upsert.bind(app.crm);
  app.crm.upsert = async (entity, records, options) => {
    for (const r of records) upsertsPerLead.set(Number(r.marketo_lead_id), (upsertsPerLead.get(Number(r.marketo_lead_id)) ?? 0) + 1);
    return upsert(entity, records, options);
  };
  const worker = await createAppWorker(app);
  const running = worker.run();
  const emulator = app.services.emulator!;
  const runs: { leadId: number; runId: string }[] = [];
  const starter = temporalSyncStarter(app.client, app.config.temporal.taskQueue);
  const recording: SyncStarter = async (leadId, requestId) => {
    const r = await starter(leadId, requestId);
    runs.push({ leadId, runId: r.runId });
    return r;
  };
  const server = createWebhookServer({ secret: SECRET, maxBodyBytes: 16_384, start: recording });
  const url = `${(await listen(server, 0, '127.0.0.1')).url}${WEBHOOK_PATH}`;

  // Warm-up on a lead outside the measured set: loads the mapping (describe calls) and the workflow bundle.
  const warmId = DISTINCT;
  const order = plan().filter((id) => id !== warmId);
  await fetch(url, { method: 'POST', headers: { 'x-webhook-secret': SECRET }, body: `{"leadId": ${warmId}}` });
  await app.client.workflow.getHandle(`on-demand-${warmId}`).result();
  emulator.runtime.stats.reset();

  console.log(`Firing ${order.length} webhooks (${new Set(order).size} distinct leads), ${args.concurrency} at a time`);
  const firstSent = new Map<number, number>();
  const answerMs: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (next < order.length) {
        const leadId = order[next++]!;
        const sentAt = performance.timeOrigin + performance.now();
        if (!firstSent.has(leadId)) firstSent.set(leadId, sentAt);
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET },
          body: `{"leadId": ${leadId}, "campaign": "bench"}`,
        });
        await res.arrayBuffer();
        answerMs.push(performance.timeOrigin + performance.now() - sentAt);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const firedIn = (performance.now() - began) / 1000;

  const measured = runs.filter((r) => r.leadId !== warmId);
  const uniqueRuns = [...new Map(measured.map((r) => [`${r.leadId}/${r.runId}`, r])).values()];
  const summaries = await Promise.all(
    uniqueRuns.map(async (r) => ({ ...r, summary: await app.client.workflow.getHandle<() => Promise<OnDemandSyncSummary>>(`on-demand-${r.leadId}`, r.runId).result() })),
  );
  const allDoneIn = (performance.now() - began) / 1000;
  const outcomes = new Map<string, number>();
  for (const s of summaries) outcomes.set(s.summary.outcome, (outcomes.get(s.summary.outcome) ?? 0) + 1);

  const { rows } = await app.store.pool.query<{ marketo_lead_id: string; written_ms: number }>(
    `SELECT marketo_lead_id::text, extract(epoch FROM updated_at) * 1000 AS written_ms FROM crm.leads WHERE marketo_lead_id <> $1
     UNION ALL SELECT marketo_lead_id::text, extract(epoch FROM updated_at) * 1000 FROM crm.contacts WHERE marketo_lead_id <> $1`,
    [warmId],
  );
  const rowsPerLead = new Map<number, number>();
  const latency: number[] = [];
  for (const row of rows) {
    const leadId = Number(row.marketo_lead_id);
    rowsPerLead.set(leadId, (rowsPerLead.get(leadId) ?? 0) + 1);
    const sent = firstSent.get(leadId);
    if (sent !== undefined) latency.push(Number(row.written_ms) - sent);
  }
  latency.sort((a, b) => a - b);
  answerMs.sort((a, b) => a - b);
  const distinct = new Set(order);
  const exactlyOnceWrites = [...distinct].every((id) => upsertsPerLead.get(id) === 1);
  const recordedWrites = summaries.reduce((n, s) => n + s.summary.writes, 0);
  const exactlyOneRow = [...distinct].every((id) => rowsPerLead.get(id) === 1) && rowsPerLead.size === distinct.size;
  const calls = emulator.runtime.stats.snapshot().endpoints;

  console.log(`HTTP answers: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}; p50 ${percentile(answerMs, 50).toFixed(1)} ms, p99 ${percentile(answerMs, 99).toFixed(1)} ms, max ${answerMs.at(-1)!.toFixed(1)} ms`);
  console.log(`fired in ${firedIn.toFixed(2)} s; all workflows done ${allDoneIn.toFixed(2)} s after the first webhook`);
  console.log(`request → CRM row written (${latency.length} leads): p50 ${percentile(latency, 50).toFixed(0)} ms, p99 ${percentile(latency, 99).toFixed(0)} ms, max ${latency.at(-1)!.toFixed(0)} ms (goal p99 ≤ 1000 ms)`);
  console.log(`workflow runs: ${summaries.length} for ${distinct.size} leads; last-pass outcomes ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}; passes ${summaries.reduce((n, s) => n + s.summary.passes, 0)}`);
  console.log(`each distinct lead written exactly once: ${exactlyOnceWrites} (CRM upserts per lead), ${exactlyOneRow} (one CRM row each); writes recorded in workflow results ${recordedWrites}`);
  console.log('Marketo calls during the run:');
  for (const [endpoint, c] of Object.entries(calls)) console.log(`  ${String(c.calls).padStart(5)}  ${endpoint}${Object.keys(c.errors).length ? `  errors ${JSON.stringify(c.errors)}` : ''}`);
  server.closeAllConnections();
  server.close();
  worker.shutdown();
  await running;
  if (!exactlyOnceWrites || !exactlyOneRow || statuses.size !== 1 || !statuses.has(200)) process.exitCode = 1;
} finally {
  await app.close();
  await temporal?.teardown();
  rmSync(dataDir, { recursive: true, force: true });
}
