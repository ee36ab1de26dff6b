/**
 * The bootstrap benchmark's worker, in a process of its own so its peak RSS is the worker's alone.
 * Environment: TEMPORAL_ADDRESS, TASK_QUEUE, MARKETO_URL, DATABASE_URL, WORKFLOW_BUNDLE (the
 * workflow code bundled by the bench, so this process never loads webpack), BATCH_SIZE, CACHED_WORKFLOWS.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createBootstrapActivities } from '../activities/bootstrap.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { StateStore } from '../src/store/state-store.js';
import { createActivities } from '../workers/activities.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const store = await StateStore.open({ connectionString: env('DATABASE_URL') });
const crm = await PostgresCrmConnector.open({ connectionString: env('DATABASE_URL') });
const marketo = new MarketoClient({ baseUrl: env('MARKETO_URL'), clientId: 'bench-id', clientSecret: 'bench-secret' });
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const deps = { marketo, store, crm };
const worker = await Worker.create({
  connection,
  taskQueue: env('TASK_QUEUE'),
  workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
  activities: { ...createActivities(deps), ...createBootstrapActivities({ ...deps, batchSize: Number(env('BATCH_SIZE')) }) },
  maxConcurrentActivityTaskExecutions: 20,
  maxCachedWorkflows: Number(env('CACHED_WORKFLOWS')),
});
console.log('worker ready');
await worker.run();
await Promise.all([store.close(), crm.close(), connection.close()]);
