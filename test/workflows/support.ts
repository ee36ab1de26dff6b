import { NativeConnection, Worker } from '@temporalio/worker';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { MarketoClient, type MarketoClientOptions } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../emulator/index.js';
import { createSyncWorker } from '../../workers/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/** Emulator + state store + Marketo client + a running worker on a test environment's connection. */
export interface WorkflowHarness {
  emulator: RunningEmulator;
  marketo: MarketoClient;
  store: StateStore;
  /** The Postgres CRM (schema `crm`) in the same test database. */
  crm: PostgresCrmConnector;
  db: TestDatabase;
  worker: Worker;
  taskQueue: string;
  close(): Promise<void>;
}

export async function startHarness(
  connection: NativeConnection,
  opts: { emulator?: EmulatorOptions; client?: Partial<MarketoClientOptions>; taskQueue?: string } = {},
): Promise<WorkflowHarness> {
  const emulator = await startEmulator({ clientId: 'test-id', clientSecret: 'test-secret', ...opts.emulator });
  const db = await createTestDatabase('wf');
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'test-id', clientSecret: 'test-secret', ...opts.client });
  const taskQueue = opts.taskQueue ?? `test-${Math.random().toString(36).slice(2)}`;
  const worker = await createSyncWorker({ connection, taskQueue, deps: { marketo, store, crm } });
  // A Worker runs once: keep it running for the whole file and shut it down in close().
  const running = worker.run();
  return {
    emulator,
    marketo,
    store,
    crm,
    db,
    worker,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await store.close();
      await crm.close();
      await db.drop();
      await emulator.close();
    },
  };
}
