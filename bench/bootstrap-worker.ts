/**
 * The bootstrap benchmark's worker, in a process of its own so its peak RSS is the worker's alone.
 * Environment: TEMPORAL_ADDRESS, TASK_QUEUE, MARKETO_URL, DATABASE_URL, WORKFLOW_BUNDLE (the
 * workflow code bundled by the bench, so this process never loads webpack), BATCH_SIZE,
 * WRITE_CONCURRENCY, CACHED_WORKFLOWS; MAX_ROWS_IN_FLIGHT (default: from the heap limit);
 * HEAP_SNAPSHOT_MB for one heap snapshot (in the cwd); METRICS_ADDRESS: core's Prometheus metrics there; PATCHES_OFF:
 * patch ids the worker declines (the workflows' earlier code paths); REUSE_V8_CONTEXT=false: a V8
 * context per workflow run.
 */
import { writeHeapSnapshot } from 'node:v8';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createBootstrapActivities } from '../activities/bootstrap.js';
import { createBulkExportActivities } from '../activities/bulk-export.js';
import { defaultRowBudget } from '../src/marketo/bulk/row-budget.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { StateStore } from '../src/store/state-store.js';
import { createActivities } from '../workers/activities.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// Core's metrics (workflow activations, sticky cache) for the bench to scrape; before any connection.
if (process.env.METRICS_ADDRESS) Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: process.env.METRICS_ADDRESS } } } });
const store = await StateStore.open({ connectionString: env('DATABASE_URL') });
const crm = await PostgresCrmConnector.open({ connectionString: env('DATABASE_URL') });
const marketo = new MarketoClient({ baseUrl: env('MARKETO_URL'), clientId: 'bench-id', clientSecret: 'bench-secret' });
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const deps = { marketo, store, crm };
const ingest = { batchSize: Number(env('BATCH_SIZE')), writeConcurrency: Number(env('WRITE_CONCURRENCY')) };
const maxRowsInFlight = process.env.MAX_ROWS_IN_FLIGHT ? Number(process.env.MAX_ROWS_IN_FLIGHT) : undefined;
const patchesOff = new Set((process.env.PATCHES_OFF ?? '').split(',').filter(Boolean));
const worker = await Worker.create({
  connection,
  taskQueue: env('TASK_QUEUE'),
  workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
  activities: {
    ...createActivities(deps),
    ...createBootstrapActivities({ ...deps, ...ingest }),
    // The bulk export steps again, with the row budget (the bootstrap's deps do not carry it yet).
    ...createBulkExportActivities({ ...deps, ...ingest, ...(maxRowsInFlight ? { maxRowsInFlight } : {}) }),
  },
  maxConcurrentActivityTaskExecutions: 20,
  maxCachedWorkflows: Number(env('CACHED_WORKFLOWS')),
  ...(process.env.REUSE_V8_CONTEXT === 'false' ? { reuseV8Context: false } : {}),
  // The bench's "before" runs: these patches stay off, so the workflows take their earlier paths.
  ...(patchesOff.size > 0 ? { patchActivationCallback: ({ patchId }: { patchId: string }) => !patchesOff.has(patchId) } : {}),
});
// The bench reads these to tell what grows: the JS heap, buffers outside it, or native memory
// (Temporal's core runtime), which is RSS minus the other two.
// HEAP_SNAPSHOT_MB: one heap snapshot (into HEAP_SNAPSHOT_DIR) the first time the heap passes it.
const snapshotAt = Number(process.env.HEAP_SNAPSHOT_MB ?? 0) * 1048576;
let snapshotTaken = false;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (snapshotAt > 0 && !snapshotTaken && m.heapUsed > snapshotAt) {
    snapshotTaken = true;
    console.log(`heap snapshot ${writeHeapSnapshot(undefined)} at ${Math.round(m.heapUsed / 1048576)} MB`);
  }
  console.log(`mem ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}`);
}, 500);
sampler.unref();
console.log(`row budget ${maxRowsInFlight ?? defaultRowBudget()} rows in flight`);
console.log('worker ready');
await worker.run();
await Promise.all([store.close(), crm.close(), connection.close()]);
