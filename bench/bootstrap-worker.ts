/**
 * The bootstrap benchmark's worker, in a process of its own so its peak RSS is the worker's alone.
 * Environment: TEMPORAL_ADDRESS, TASK_QUEUE, MARKETO_URL, DATABASE_URL.
 */
import { NativeConnection } from '@temporalio/worker';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { StateStore } from '../src/store/state-store.js';
import { createSyncWorker } from '../workers/worker.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const store = await StateStore.open({ connectionString: env('DATABASE_URL') });
const crm = await PostgresCrmConnector.open({ connectionString: env('DATABASE_URL') });
const marketo = new MarketoClient({ baseUrl: env('MARKETO_URL'), clientId: 'bench-id', clientSecret: 'bench-secret' });
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const worker = await createSyncWorker({ connection, taskQueue: env('TASK_QUEUE'), deps: { marketo, store, crm } });
console.log('worker ready');
await worker.run();
await Promise.all([store.close(), crm.close(), connection.close()]);
