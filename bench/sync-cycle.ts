/**
 * The sync loop's acceptance figures against the emulator, on a Temporal dev server with the
 * product's worker:
 *   npx tsx bench/sync-cycle.ts [--changes 10000] [--idle 5] [--latency-interval 10] [--latency-samples 3]
 * 1. API calls per idle cycle (goal ≤ 4), from the emulator's counter and the cycle history.
 * 2. Calls and wall time to carry N CRM person changes to Marketo, then N Marketo lead changes to
 *    the CRM (creates, then updates of the same people), each in one cycle woken by `syncNow`.
 * 3. Change-to-other-side latency: with the loop on a short interval, a change made at a random
 *    moment on either side, polled for on the other side until it arrives.
 * Uses DATABASE_URL, or starts a local cluster in .data/. Numbers depend on the machine, the
 * emulator's bulk pace and the pull's 60 s bulk status polls (Marketo refreshes status per minute).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { startEmulator } from '../emulator/index.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import { StateStore } from '../src/store/state-store.js';
import { createSyncWorker } from '../workers/worker.js';
import { syncLoop, syncNowSignal, syncSetIntervalUpdate, syncStatusQuery, syncStopSignal } from '../workflows/index.js';
import type { SyncStatus } from '../workflows/sync-types.js';

const Options = z.object({
  changes: z.coerce.number().int().min(1).max(1_000_000),
  idle: z.coerce.number().int().min(1).max(100),
  latencyInterval: z.coerce.number().int().min(1).max(3_600),
  latencySamples: z.coerce.number().int().min(0).max(50),
});

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const opts = Options.parse(
    new Command()
      .option('--changes <n>', 'person changes per direction', '10000')
      .option('--idle <n>', 'idle cycles to measure', '5')
      .option('--latency-interval <s>', 'loop interval while measuring latency', '10')
      .option('--latency-samples <n>', 'latency samples per direction', '3')
      .parse(process.argv)
      .opts(),
  );
  const local = process.env.DATABASE_URL ? undefined : await ensureLocalPostgres({ dataDir: '.data/bench-postgres' });
  const baseUrl = process.env.DATABASE_URL ?? local!.url;
  const dbName = `bench_sync_${Date.now()}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;

  const emulator = await startEmulator({ clientId: 'bench', clientSecret: 'bench' });
  const sub = emulator.subscription;
  sub.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const store = await StateStore.open({ connectionString: url.toString() });
  const crm = await PostgresCrmConnector.open({ connectionString: url.toString() });
  const user = await PostgresCrmConnector.open({ connectionString: url.toString(), writeOrigin: 'user' });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'bench', clientSecret: 'bench' });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable('temporal') } });
  const taskQueue = 'bench-sync';
  const worker = await createSyncWorker({ connection: env.nativeConnection, taskQueue, deps: { marketo, store, crm } });
  const running = worker.run();

  const counted = () => Object.values(emulator.runtime.stats.snapshot().endpoints).reduce((n, e) => n + e.counted, 0);
  const perEndpoint = () => Object.fromEntries(Object.entries(emulator.runtime.stats.snapshot().endpoints).map(([k, v]) => [k, v.counted]));
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.entries(b)
      .map(([k, v]) => [k, v - (a[k] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1]);

  try {
    const since = new Date((emulator.runtime.clock.nowSeconds() - 1) * 1000).toISOString();
    const handle = await env.client.workflow.start(syncLoop, { taskQueue, workflowId: 'bench-sync-loop', args: [{ since, intervalSeconds: 3_600 }] });
    const status = () => handle.query(syncStatusQuery);
    const cycleDone = async (n: number): Promise<SyncStatus> => {
      for (;;) {
        const s = await status().catch(() => undefined);
        if (s && s.cycles >= n && s.state !== 'running' && s.state !== 'quota-paused' && s.lastCycle?.number === n) return s;
        await sleep(100);
      }
    };
    const runCycle = async (label: string): Promise<SyncStatus> => {
      const n = (await status()).cycles + 1;
      const before = perEndpoint();
      const t = performance.now();
      await handle.signal(syncNowSignal);
      const s = await cycleDone(n);
      const wall = performance.now() - t;
      const c = s.lastCycle!;
      const calls = diff(before, perEndpoint());
      log(`${label}: cycle #${c.number} ${c.outcome}${c.error ? ` (${c.error})` : ''}, ${(wall / 1000).toFixed(1)} s wall, ${calls.reduce((n2, [, v]) => n2 + v, 0)} calls counted by Marketo (${c.apiCalls} reported by the steps)`);
      for (const st of c.steps) if (st.read || st.written || st.skipped || st.calls) log(`    step ${String(st.seed).padStart(2)} ${st.step.padEnd(22)} read ${st.read} written ${st.written} ledgered ${st.skipped} calls ${st.calls}${st.mode ? ` ${st.mode}` : ''}${st.runs > 1 ? ` runs ${st.runs}` : ''}`);
      for (const [k, v] of calls) log(`      ${String(v).padStart(6)}  ${k}`);
      return s;
    };

    log(`first cycle (schema refresh): ${(await cycleDone(1)).lastCycle!.apiCalls} calls`);
    const idle: number[] = [];
    for (let i = 0; i < opts.idle; i++) {
      const before = counted();
      await runCycle(`idle ${i + 1}`);
      idle.push(counted() - before);
    }
    const perIdle = idle.reduce((a, b) => a + b, 0) / idle.length;
    log(`IDLE: ${idle.join(', ')} calls per idle cycle (mean ${perIdle.toFixed(1)}; ${Math.round(perIdle * 288)} calls a day at 5 minutes)`);

    const N = opts.changes;
    const contactIds: string[] = [];
    for (let i = 0; i < N; i += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, N - i) }, (_, j) => ({ email: `crm${i + j}@bench.example`, first_name: `F${i + j}`, last_name: `L${i + j}`, title: 'Engineer' }));
      for (const r of await user.upsert('contact', batch, { keyField: 'id' })) if (r.status !== 'failed') contactIds.push(r.id);
    }
    await runCycle(`CRM → Marketo: ${N} new persons`);
    for (let i = 0; i < contactIds.length; i += 5_000) await user.upsert('contact', contactIds.slice(i, i + 5_000).map((id) => ({ id, title: 'Manager' })), { keyField: 'id', updateOnly: true });
    await runCycle(`CRM → Marketo: ${N} changed persons`);

    const leadIds: number[] = [];
    for (let i = 0; i < N; i++) leadIds.push(sub.createLead({ email: `mkto${i}@bench.example`, firstName: `M${i}`, lastName: `K${i}`, title: 'Analyst' }, 1, 'Web client'));
    emulator.runtime.clock.advance(1_000);
    await runCycle(`Marketo → CRM: ${N} new leads`);
    for (const id of leadIds) sub.editLeadAsUser(id, { title: 'Director' });
    emulator.runtime.clock.advance(1_000);
    await runCycle(`Marketo → CRM: ${N} changed leads`);
    for (let i = 0; i < 2; i++) await runCycle(`idle after the load ${i + 1}`);

    if (opts.latencySamples > 0) {
      await handle.executeUpdate(syncSetIntervalUpdate, { args: [{ intervalSeconds: opts.latencyInterval }] });
      const samples: { dir: string; ms: number }[] = [];
      for (let i = 0; i < opts.latencySamples; i++) {
        // A random moment within the interval, as a user's edit would fall.
        await sleep(Math.random() * opts.latencyInterval * 1000);
        const contact = contactIds[i]!;
        const title = `CrmTitle${i}-${Date.now()}`;
        let t = performance.now();
        await user.upsert('contact', [{ id: contact, title }], { keyField: 'id', updateOnly: true });
        for (;;) {
          const found = await marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact], fields: ['title'] });
          if (found.items[0]?.title === title) break;
          await sleep(200);
        }
        samples.push({ dir: 'CRM → Marketo', ms: performance.now() - t });
        await sleep(Math.random() * opts.latencyInterval * 1000);
        const lead = leadIds[i]!;
        const mtitle = `MktoTitle${i}-${Date.now()}`;
        t = performance.now();
        sub.editLeadAsUser(lead, { title: mtitle });
        for (;;) {
          const { rows } = await crm.pool.query<{ title: string | null }>(`SELECT title FROM crm.leads WHERE marketo_lead_id = $1 UNION ALL SELECT title FROM crm.contacts WHERE marketo_lead_id = $1`, [lead]);
          if (rows.some((r) => r.title === mtitle)) break;
          await sleep(200);
        }
        samples.push({ dir: 'Marketo → CRM', ms: performance.now() - t });
      }
      for (const dir of ['CRM → Marketo', 'Marketo → CRM']) {
        const ms = samples.filter((s) => s.dir === dir).map((s) => s.ms);
        log(`LATENCY ${dir} at a ${opts.latencyInterval} s interval: ${ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s (mean ${(ms.reduce((a, b) => a + b, 0) / ms.length / 1000).toFixed(1)} s)`);
      }
    }
    await handle.signal(syncStopSignal);
    const result = await handle.result();
    log(`loop stopped after ${result.cycles} cycles`);
    for (const row of (await store.cycles.recent(50)).reverse()) log(`  history #${row.id} ${row.status} ${row.durationMs} ms ${row.apiCalls} calls ${row.records.map((r) => `${r.entity}/${r.direction} +${r.created}~${r.updated}-${r.deleted}!${r.failed}`).join(' ')}`);
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
    await store.close();
    await crm.close();
    await user.close();
    await emulator.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`).catch(() => undefined);
    await admin.end();
    if (local?.startedHere) await local.stop();
  }
}

await main();
