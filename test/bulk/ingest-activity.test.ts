import { MockActivityEnvironment } from '@temporalio/testing';
import { createBulkExportActivities, type ExportJobView } from '../../activities/bulk-export.js';
import type { IngestSinkImpl } from '../../activities/ingest-sink.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startBulkEmulator, type BulkTestEmulator } from './support/emulator.js';

// The ingest activity against the real emulator over HTTP and a real Postgres; it runs in
// Temporal's mock activity context (heartbeats recorded, no server).
// Issue 8: a line of an export file with the wrong number of cells used to fail the ingest
// activity on every retry, so its window never finished. Now it is one ledger entry and the
// rest of the file still arrives.
const LEADS = 40;
const FROM = '2024-01-01T00:00:00Z';
const TO = '2024-01-20T00:00:00Z';
const WINDOW = { startAt: '2023-12-31T00:00:00Z', endAt: '2024-01-21T00:00:00Z' };
const SOURCE = { kind: 'leads' } as const;

let bulk: BulkTestEmulator;
let db: TestDatabase;
let store: StateStore;
let crm: PostgresCrmConnector;

beforeAll(async () => {
  // The emulator's "malformed rows" fault: the next file gets a 2-cell line after its first lead.
  bulk = await startBulkEmulator({ seed: { leads: LEADS, from: FROM, to: TO } }, { faults: { malformedRows: 1 } });
  db = await createTestDatabase('ingest_activity');
  store = await StateStore.open({ connectionString: db.url });
  crm = await PostgresCrmConnector.open({ connectionString: db.url });
});

afterAll(async () => {
  await store?.close();
  await crm?.close();
  await db?.drop();
  await bulk?.close();
});

/** Runs `step` in the mock activity context (typed: `env.run` does not infer results). */
function inActivity<T>(env: MockActivityEnvironment, step: () => Promise<T>): Promise<T> {
  return env.run(step) as Promise<T>;
}

async function completedJob(acts: ReturnType<typeof createBulkExportActivities>, env: MockActivityEnvironment): Promise<ExportJobView> {
  const created = await inActivity(env, () => acts.createBulkExport({ source: SOURCE, sink: 'leads', window: WINDOW }));
  const enqueued = await inActivity(env, () => acts.enqueueBulkExport({ source: SOURCE, exportId: created.exportId, queueFullMs: 1000 }));
  if (enqueued.queueFull || 'missing' in enqueued) throw new Error(`enqueue answered ${JSON.stringify(enqueued)}`);
  for (;;) {
    const job = await inActivity(env, () => acts.bulkExportStatus({ source: SOURCE, exportId: created.exportId }));
    if (job.status === 'Completed') return job;
    if (job.status !== 'Queued' && job.status !== 'Processing') throw new Error(`export ended ${job.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a line with the wrong cell count becomes one ledger entry and every other lead arrives', async () => {
  const acts = createBulkExportActivities({ marketo: bulk.client, store, crm, batchSize: 10 });
  const env = new MockActivityEnvironment();
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const job = await completedJob(acts, env);
  expect(job.numberOfRecords).toBe(LEADS + 1);

  const summary = await inActivity(env, () => acts.ingestBulkExport({ source: SOURCE, sink: 'leads', runId: 'malformed-run', job }));
  expect(summary).toMatchObject({ rows: LEADS + 1, written: LEADS, failed: 1, malformed: 1, bytes: job.fileSize });

  const { rows } = await crm.pool.query<{ n: string; distinct_ids: string }>(
    `SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM (SELECT marketo_lead_id AS id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) x`,
  );
  expect(Number(rows[0]!.n)).toBe(LEADS);
  expect(Number(rows[0]!.distinct_ids)).toBe(LEADS);

  const ledger = await store.errors.list({});
  expect(ledger).toHaveLength(1);
  // The bad line is the file's second data record; its cells ("malformed", "row") are not copied.
  expect(ledger[0]).toMatchObject({ entity: 'lead', operation: 'bootstrap', source: 'marketo', code: 'MALFORMED_ROW', recordKey: `export ${job.exportId} record 2`, status: 'open' });
  expect(ledger[0]!.reason).toMatch(/^export \S+: data record 2 \(line 3, ends at byte \d+\) skipped: 2 cells where the header has \d+ columns$/);
  expect(ledger[0]!.reason).not.toMatch(/malformed|\brow\b/);
  // Heartbeats carry positions past the bad line, so a retry would not stop at it again.
  expect(heartbeats.length).toBeGreaterThan(0);

  // Read again from a heartbeat taken before the bad line: the same entry counts one more attempt.
  const env2 = new MockActivityEnvironment({ heartbeatDetails: { position: { byteOffset: 0, rows: 0 }, written: 0, failed: 0, apiCalls: 0 } });
  const again = await inActivity(env2, () => acts.ingestBulkExport({ source: SOURCE, sink: 'leads', runId: 'malformed-run', job }));
  expect(again).toMatchObject({ written: LEADS, failed: 1 });
  const after = await store.errors.list({});
  expect(after).toHaveLength(1);
  expect(after[0]!.attempts).toBe(2);
});

test('batches written at once may finish out of order, but a heartbeat only marks committed batches from the start', async () => {
  // A sink whose first batch finishes only after the second: the second's commit must not be heartbeated alone.
  const writes: number[][] = [];
  let secondDone!: () => void;
  const secondFinished = new Promise<void>((resolve) => (secondDone = resolve));
  const slowFirst = (): IngestSinkImpl<'leads'> => ({
    rowKind: 'leads',
    exportRequest: async (_source, window) => ({ format: 'CSV', fields: ['id', 'email'], filter: { createdAt: window } }),
    write: async (rows) => {
      const index = writes.push(rows.map((r) => Number(r.id))) - 1;
      if (index === 0) await secondFinished;
      if (index === 1) setImmediate(secondDone);
      return { written: rows.length, failed: 0 };
    },
  });
  const acts = createBulkExportActivities({ marketo: bulk.client, store, crm, batchSize: 10, writeConcurrency: 2, sinks: { slowFirst: slowFirst as () => IngestSinkImpl } });
  const env = new MockActivityEnvironment();
  const heartbeats: { position: { rows: number }; written: number }[] = [];
  env.on('heartbeat', (d: { position: { rows: number }; written: number }) => heartbeats.push(d));
  const created = await inActivity(env, () => acts.createBulkExport({ source: SOURCE, sink: 'slowFirst', window: WINDOW }));
  await inActivity(env, () => acts.enqueueBulkExport({ source: SOURCE, exportId: created.exportId, queueFullMs: 1000 }));
  let job = created;
  while (job.status !== 'Completed') job = await inActivity(env, () => acts.bulkExportStatus({ source: SOURCE, exportId: created.exportId }));

  const summary = await inActivity(env, () => acts.ingestBulkExport({ source: SOURCE, sink: 'slowFirst', runId: 'order-run', job }));
  expect(summary).toMatchObject({ rows: LEADS, written: LEADS, failed: 0 });
  // Every lead handed over once, in file order within each batch.
  expect(writes.flat()).toHaveLength(LEADS);
  expect(new Set(writes.flat()).size).toBe(LEADS);
  // The first heartbeat comes when batches 1 and 2 are both committed, never for batch 2 alone.
  expect(heartbeats[0]).toMatchObject({ written: 20, position: { rows: 20 } });
  for (const h of heartbeats) expect(h.position.rows).toBe(h.written);
  const marks = heartbeats.map((h) => h.written);
  expect(marks).toEqual([...marks].sort((a, b) => a - b));
  expect(marks.at(-1)).toBe(LEADS);
});

test('downloads sharing a worker-wide row budget never hold more rows between parse and write than it allows', async () => {
  // Two windows at once, each allowed 2 writes in flight: without the budget up to 4 batches (40
  // rows) would be written at once, plus the batches being filled. The budget is 2 batches.
  let writing = 0;
  let mostWriting = 0;
  const slow = (): IngestSinkImpl<'leads'> => ({
    rowKind: 'leads',
    exportRequest: async (_source, window) => ({ format: 'CSV', fields: ['id', 'email'], filter: { createdAt: window } }),
    write: async (rows) => {
      writing += rows.length;
      mostWriting = Math.max(mostWriting, writing);
      await new Promise((r) => setTimeout(r, 20));
      writing -= rows.length;
      return { written: rows.length, failed: 0 };
    },
  });
  const acts = createBulkExportActivities({ marketo: bulk.client, store, crm, batchSize: 10, writeConcurrency: 2, maxRowsInFlight: 20, sinks: { slow: slow as () => IngestSinkImpl } });
  const env = new MockActivityEnvironment();
  const jobs: ExportJobView[] = [];
  for (let i = 0; i < 2; i++) {
    const created = await inActivity(env, () => acts.createBulkExport({ source: SOURCE, sink: 'slow', window: WINDOW }));
    await inActivity(env, () => acts.enqueueBulkExport({ source: SOURCE, exportId: created.exportId, queueFullMs: 1000 }));
    let job = created;
    while (job.status !== 'Completed') job = await inActivity(env, () => acts.bulkExportStatus({ source: SOURCE, exportId: created.exportId }));
    jobs.push(job);
  }
  const summaries = await Promise.all(jobs.map((job) => inActivity(new MockActivityEnvironment(), () => acts.ingestBulkExport({ source: SOURCE, sink: 'slow', runId: 'budget-run', job }))));
  for (const s of summaries) expect(s).toMatchObject({ rows: LEADS, written: LEADS, failed: 0 });
  // Each batch's rows are taken before it fills, so the batches being written are at most the budget.
  expect(mostWriting).toBeGreaterThan(0);
  expect(mostWriting).toBeLessThanOrEqual(20);
});
