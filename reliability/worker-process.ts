/**
 * A sync worker in a process of its own, so a case can SIGKILL it and read what it logged.
 * Configured by environment (see `workerEnv` in workers.ts).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { StateStore } from '../src/store/state-store.js';
import { createActivities } from '../workers/activities.js';
import { WorkerEnv } from './worker-env.js';

const env = WorkerEnv.parse(process.env);
const store = await StateStore.open({ connectionString: env.DATABASE_URL });
const crm = await PostgresCrmConnector.open({ connectionString: env.DATABASE_URL });
const marketo = new MarketoClient({
  baseUrl: env.MARKETO_URL,
  clientId: env.MARKETO_CLIENT_ID,
  clientSecret: env.MARKETO_CLIENT_SECRET,
  limits: { windowMs: env.MARKETO_WINDOW_MS },
});
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await Worker.create({
  connection,
  taskQueue: env.TASK_QUEUE,
  workflowBundle: { codePath: env.WORKFLOW_BUNDLE },
  activities: createActivities({ marketo, store, crm }),
  maxConcurrentActivityTaskExecutions: 20,
});
console.log('worker ready');
await worker.run();
await Promise.all([store.close(), crm.close(), connection.close()]);
