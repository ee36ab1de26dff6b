import type { MockActivityEnvironment } from '@temporalio/testing';
import type { createBulkExportActivities, ExportJobView } from '../../../activities/bulk-export.js';
import type { BulkOptions } from '../../../emulator/bulk/options.js';
import { PostgresCrmConnector } from '../../../src/crm/postgres/postgres-connector.js';
import { StateStore } from '../../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startBulkEmulator, type BulkTestEmulator } from './emulator.js';

type Activities = ReturnType<typeof createBulkExportActivities>;
type Source = Parameters<Activities['createBulkExport']>[0]['source'];
type Window = Parameters<Activities['createBulkExport']>[0]['window'];

/** Runs `step` in the mock activity context (typed: `env.run` does not infer results). */
export function inActivity<T>(env: MockActivityEnvironment, step: () => Promise<T>): Promise<T> {
  return env.run(step) as Promise<T>;
}

/** Creates, enqueues and polls a lead export through the activities until it completes. */
export async function completedLeadExport(acts: Activities, env: MockActivityEnvironment, source: Source, window: Window): Promise<ExportJobView> {
  const created = await inActivity(env, () => acts.createBulkExport({ source, sink: 'leads', window }));
  const enqueued = await inActivity(env, () => acts.enqueueBulkExport({ source, exportId: created.exportId, queueFullMs: 1000 }));
  if (enqueued.queueFull || 'missing' in enqueued) throw new Error(`enqueue answered ${JSON.stringify(enqueued)}`);
  for (;;) {
    const job = await inActivity(env, () => acts.bulkExportStatus({ source, exportId: created.exportId }));
    if (job.status === 'Completed') return job;
    if (job.status !== 'Queued' && job.status !== 'Processing') throw new Error(`export ended ${job.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An emulator with bulk settings, a fresh database, and the state store and CRM on it: what the ingest activity needs. */
export interface IngestFixture {
  bulk: BulkTestEmulator;
  db: TestDatabase;
  store: StateStore;
  crm: PostgresCrmConnector;
  close(): Promise<void>;
}

export async function openIngestFixture(database: string, emulator: Parameters<typeof startBulkEmulator>[0], bulkOptions: BulkOptions): Promise<IngestFixture> {
  const bulk = await startBulkEmulator(emulator, bulkOptions);
  const db = await createTestDatabase(database);
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  return {
    bulk,
    db,
    store,
    crm,
    close: async () => {
      await store.close();
      await crm.close();
      await db.drop();
      await bulk.close();
    },
  };
}
