import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBulkExportActivities } from '../../activities/bulk-export.js';
import { completedLeadExport, inActivity, openIngestFixture, type IngestFixture } from './support/export-activity.js';

// An export file with a byte that is not UTF-8 (the emulator's "invalid UTF-8" fault: a byte of
// the first data row becomes 0xFF, size and checksum those of the damaged file) used to fail the
// whole download, so its window never finished; then it cost that record (one open ledger entry).
// Now the record's lead is fetched again by id through REST and written with its batch: every lead
// of the file arrives and the ledger keeps a resolved entry saying what happened.
// The ingest activity against the real emulator over HTTP and a real Postgres, in Temporal's
// mock activity context. test/bulk/export-refetch.test.ts covers the re-fetch in depth.
const LEADS = 30;
const WINDOW = { startAt: '2023-12-31T00:00:00Z', endAt: '2024-01-21T00:00:00Z' };
const SOURCE = { kind: 'leads' } as const;

let f: IngestFixture;
beforeAll(async () => {
  f = await openIngestFixture('ingest_invalid_utf8', { seed: { leads: LEADS, from: '2024-01-01T00:00:00Z', to: '2024-01-20T00:00:00Z' } }, { export: { rowsPerSecond: 0 }, faults: { invalidUtf8Rows: 1 } });
});
afterAll(() => f?.close());

test('a record with a byte that is not UTF-8 is fetched again by id: every lead arrives, one resolved ledger entry names its column', async () => {
  const acts = createBulkExportActivities({ marketo: f.bulk.client, store: f.store, crm: f.crm, batchSize: 10 });
  const env = new MockActivityEnvironment();
  const job = await completedLeadExport(acts, env, SOURCE, WINDOW);
  expect(job.numberOfRecords).toBe(LEADS);

  // The file as served really holds the bad byte, and its checksum is the damaged file's.
  const response = await f.bulk.client.requestStream({ method: 'GET', path: `/bulk/v1/leads/export/${job.exportId}/file.json` });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  const served = Buffer.concat(chunks);
  expect(`sha256:${createHash('sha256').update(served).digest('hex')}`).toBe(job.fileChecksum);
  expect(served.indexOf(0xff)).toBeGreaterThan(served.indexOf(0x0a));
  expect(served.indexOf(0xff)).toBeLessThan(served.indexOf(0x0a, served.indexOf(0x0a) + 1));

  const summary = await inActivity(env, () => acts.ingestBulkExport({ source: SOURCE, sink: 'leads', runId: 'invalid-utf8-run', job }));
  expect(summary).toMatchObject({ rows: LEADS, written: LEADS, failed: 0, malformed: 1, bytes: job.fileSize, apiCalls: 2 });

  const { rows } = await f.crm.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT marketo_lead_id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) x`);
  expect(Number(rows[0]!.n)).toBe(LEADS);

  const ledger = await f.store.errors.list({});
  expect(ledger).toHaveLength(1);
  expect(ledger[0]).toMatchObject({ entity: 'lead', operation: 'bootstrap', source: 'marketo', code: 'MALFORMED_ROW', recordKey: `export ${job.exportId} record 1`, status: 'resolved' });
  expect(ledger[0]!.reason).toMatch(/^export \S+: data record 1 \(line 2, ends at byte \d+, key \d+\) skipped: invalid UTF-8 in column \w+; fetched again by id through REST and written with its batch$/);
});
