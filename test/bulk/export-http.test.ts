import { createHash } from 'node:crypto';
import { BulkExtractApi, ExportNotCompletedError } from '../../src/marketo/bulk/extract.js';
import type { ExportJob } from '../../src/marketo/bulk/export-job.js';
import type { ActivityRow, RecordRow } from '../../src/marketo/bulk/rows.js';
import { exportJobSchema } from '../../src/marketo/bulk/export-job.js';
import { MarketoApiError } from '../../src/marketo/index.js';
import { configureBulk } from '../../emulator/bulk/service.js';
import { startBulkEmulator, type BulkTestEmulator } from './support/emulator.js';

const WINDOW = { startAt: '2024-01-01T00:00:00Z', endAt: '2024-01-31T23:59:59Z' };
const FIELDS = ['id', 'email', 'firstName', 'lastName', 'company', 'createdAt'];
const fast = { pollIntervalMs: 20 };

async function rawJob(t: BulkTestEmulator, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ExportJob> {
  const env = await t.client.request({ method, path, ...(body ? { body: { kind: 'json' as const, value: body } } : {}) }, exportJobSchema);
  return env.result![0]!;
}

async function errorOf(p: Promise<unknown>): Promise<MarketoApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MarketoApiError) return e;
    throw e;
  }
  throw new Error('expected a MarketoApiError');
}

describe('bulk lead and activity extract over HTTP', () => {
  let t: BulkTestEmulator;
  let api: BulkExtractApi;
  beforeAll(async () => {
    t = await startBulkEmulator({ seed: { leads: 400, from: '2024-01-02T00:00:00Z', to: '2024-01-25T00:00:00Z' } }, { export: { rowsPerSecond: 0 } });
    api = new BulkExtractApi(t.client);
  });
  afterAll(() => t.close());

  function expectedLeads(): RecordRow[] {
    const sub = t.emulator.subscription;
    return [...sub.leads.ids()].map((id) => Object.fromEntries(FIELDS.map((f) => {
      const v = sub.leadValue(id, f);
      return [f, v === null || v === undefined || v === '' ? null : String(v)];
    })));
  }

  it('exports leads end to end: rows equal the subscription, headers mapped back, checksum verified', async () => {
    const rows: RecordRow[] = [];
    const summary = await api.run(
      { kind: 'leads' },
      { fields: FIELDS, format: 'CSV', columnHeaderNames: { id: 'Marketo Id', email: 'Email Address' }, filter: { createdAt: WINDOW } },
      fast,
      (row) => void rows.push(row),
    );
    expect(rows).toEqual(expectedLeads());
    expect(summary).toMatchObject({ status: 'Completed', numberOfRecords: 400, rows: 400, reconnects: 0 });
    expect(summary.fileChecksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(summary.bytes).toBe(summary.fileSize);
  });

  it('writes Marketo activity columns with JSON attributes, as TSV and SSV too', async () => {
    for (const format of ['CSV', 'TSV', 'SSV'] as const) {
      const rows: ActivityRow[] = [];
      const summary = await api.run({ kind: 'activities' }, { format, filter: { createdAt: WINDOW, activityTypeIds: [12] } }, fast, (row) => void rows.push(row));
      expect(summary.rows).toBe(400); // one New Lead per seeded lead
      const sub = t.emulator.subscription;
      const first = rows[0]!;
      const source = sub.activities.get(Number(first.marketoGUID))!;
      expect(first).toEqual({
        marketoGUID: source.marketoGUID,
        leadId: source.leadId,
        activityDate: new Date(source.date * 1000).toISOString().replace('.000', ''),
        activityTypeId: 12,
        campaignId: source.campaignId ?? null,
        primaryAttributeValueId: source.primaryAttributeValueId ?? null,
        primaryAttributeValue: source.primaryAttributeValue ?? null,
        attributes: Object.fromEntries(source.attributes.map((a) => [a.name, a.value])),
      });
    }
  });

  it('resumes a download broken half way to an identical, checksum-valid result', async () => {
    const first: RecordRow[] = [];
    const clean = await api.run({ kind: 'leads' }, { fields: FIELDS, filter: { createdAt: WINDOW } }, fast, (r) => void first.push(r));
    const service = await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0 }, faults: { breakDownloadAfterBytes: Math.floor(clean.fileSize / 2) } });
    const second: RecordRow[] = [];
    const broken = await api.run({ kind: 'leads' }, { fields: FIELDS, filter: { createdAt: WINDOW } }, fast, (r) => void second.push(r));
    expect(service.faults.breakDownloads).toBe(0); // the fault did fire
    expect(broken.reconnects).toBe(1);
    expect(second).toEqual(first);
    expect(broken.fileChecksum).toBe(clean.fileChecksum);
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0 } });
  });

  it('serves Range requests with 206 and Content-Range, and 404 plain text before completion', async () => {
    const job = await api.create({ kind: 'leads' }, { fields: ['id'], filter: { createdAt: WINDOW } });
    const early = await t.client.requestStream({ method: 'GET', path: `/bulk/v1/leads/export/${job.exportId}/file.json` });
    expect(early.statusCode).toBe(404);
    expect(String(early.headers['content-type'])).toMatch(/^text\/plain/);
    early.body.resume();
    await expect(api.fileOpener({ kind: 'leads' }, job.exportId)(0)).rejects.toMatchObject({ httpStatus: 404 });

    await api.enqueue({ kind: 'leads' }, job.exportId);
    const done = await api.waitUntilDone({ kind: 'leads' }, job.exportId, fast);
    const part = await t.client.requestStream({ method: 'GET', path: `/bulk/v1/leads/export/${job.exportId}/file.json`, headers: { range: 'bytes=0-9' } });
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(c as Buffer);
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 0-9/${done.fileSize}`);
    expect(part.headers['accept-ranges']).toBe('bytes');
    expect(Buffer.concat(chunks).toString()).toBe('id\n1\n2\n3\n4');

    const whole = await t.client.requestStream({ method: 'GET', path: `/bulk/v1/leads/export/${job.exportId}/file.json` });
    const hash = createHash('sha256');
    for await (const c of whole.body) hash.update(c as Buffer);
    expect(`sha256:${hash.digest('hex')}`).toBe(done.fileChecksum);
  });

  it('shows job fields only once they are set, and lists own jobs by status', async () => {
    const created = await rawJob(t, 'POST', '/bulk/v1/leads/export/create.json', { fields: ['id'], format: 'CSV', filter: { createdAt: WINDOW } });
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'exportId', 'format', 'status']);
    expect(created.status).toBe('Created');
    const listed = await api.list({ kind: 'leads' }, { status: ['created'] });
    expect(listed.jobs.map((j) => j.exportId)).toContain(created.exportId);
    const cancelled = await api.cancel({ kind: 'leads' }, created.exportId);
    expect(cancelled.status).toBe('Cancelled');
    expect((await api.list({ kind: 'leads' }, { status: ['Cancelled'] })).jobs.map((j) => j.exportId)).toEqual([created.exportId]);
  });

  it('validates create bodies on both sides: 31 days, one filter, known fields', async () => {
    // Client side: refused before any call.
    await expect(api.create({ kind: 'leads' }, { fields: ['id'], filter: { createdAt: { startAt: '2024-01-01T00:00:00Z', endAt: '2024-02-15T00:00:00Z' } } })).rejects.toThrow(/31 days/);
    await expect(api.create({ kind: 'leads' }, { fields: ['id'], filter: {} })).rejects.toThrow(/exactly one of/);
    // Emulator side: what a client without checks would meet.
    const tooLong = await errorOf(rawJob(t, 'POST', '/bulk/v1/leads/export/create.json', { fields: ['id'], filter: { createdAt: { startAt: '2024-01-01T00:00:00Z', endAt: '2024-02-15T00:00:00Z' } } }));
    expect(tooLong.code).toBe('1003');
    expect(tooLong.marketoMessage).toMatch(/31 days/);
    const unknown = await errorOf(rawJob(t, 'POST', '/bulk/v1/leads/export/create.json', { fields: ['nope'], filter: { createdAt: WINDOW } }));
    expect(unknown.code).toBe('1006');
    const smart = await errorOf(rawJob(t, 'POST', '/bulk/v1/leads/export/create.json', { fields: ['id'], filter: { smartListId: 1 } }));
    expect(smart.code).toBe('1035');
    expect(smart.classification.action).toBe('give-up');
  });
});

describe('bulk extract queue, quota and faults over HTTP', () => {
  let t: BulkTestEmulator;
  let api: BulkExtractApi;
  beforeEach(async () => {
    t = await startBulkEmulator({ seed: { leads: 200, from: '2024-01-02T00:00:00Z', to: '2024-01-25T00:00:00Z' } });
    api = new BulkExtractApi(t.client);
  });
  afterEach(() => t.close());

  const leadsJob = () => api.create({ kind: 'leads' }, { fields: ['id', 'email'], filter: { createdAt: WINDOW } });

  it('processes 2 and queues 10 across export kinds; the 11th enqueue is 1029 queue full, a repeat is already queued', async () => {
    // Slow processing keeps the jobs in the queue while we look.
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 1 } });
    const ids: { kind: 'leads' | 'activities'; id: string }[] = [];
    for (let i = 0; i < 11; i++) {
      if (i % 2) ids.push({ kind: 'activities', id: (await api.create({ kind: 'activities' }, { filter: { createdAt: WINDOW } })).exportId });
      else ids.push({ kind: 'leads', id: (await leadsJob()).exportId });
    }
    for (const j of ids.slice(0, 10)) await api.enqueue({ kind: j.kind }, j.id);
    const statuses = await Promise.all(ids.slice(0, 10).map((j) => api.status({ kind: j.kind }, j.id)));
    expect(statuses.filter((s) => s.status === 'Processing')).toHaveLength(2);
    expect(statuses.filter((s) => s.status === 'Queued')).toHaveLength(8);
    const last = ids[10]!;
    const full = await errorOf(api.enqueue({ kind: last.kind }, last.id));
    expect(full).toMatchObject({ code: '1029', marketoMessage: 'Too many jobs in queue' });
    expect(full.classification.action).toBe('retry-after');
    // Enqueueing a queued job again: Marketo says 1029 "Job already queued"; the client treats it as success.
    const again = await errorOf(t.client.request({ method: 'POST', path: `/bulk/v1/leads/export/${ids[2]!.id}/enqueue.json` }, exportJobSchema));
    expect(again.marketoMessage).toBe('Job already queued');
    expect((await api.enqueue({ kind: 'leads' }, ids[2]!.id)).status).toBe('Queued');
    // Cancelling a processing job frees its slot for the next queued one.
    expect((await api.cancel({ kind: ids[0]!.kind }, ids[0]!.id)).status).toBe('Cancelled');
    expect((await api.status({ kind: ids[2]!.kind }, ids[2]!.id)).status).toBe('Processing');
  });

  it('waits for a slot when the queue is full, then completes', async () => {
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0 }, faults: { queueFull: 2 } });
    const summary = await api.run({ kind: 'leads' }, { fields: ['id'], filter: { createdAt: WINDOW } }, { ...fast, queueFullRetryMs: 10 }, () => undefined);
    expect(summary.rows).toBe(200);
    const calls = t.emulator.runtime.stats.snapshot().endpoints['POST /bulk/v1/leads/export/:exportId/enqueue.json'];
    expect(calls?.calls).toBe(3);
  });

  it('stops at the daily byte quota with the quota 1029, classified as wait-for-reset', async () => {
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0, dailyQuotaBytes: 1000 } });
    await api.run({ kind: 'leads' }, { fields: ['id', 'email'], filter: { createdAt: WINDOW } }, fast, () => undefined);
    const quota = await errorOf(leadsJob());
    expect(quota.code).toBe('1029');
    expect(quota.marketoMessage).toMatch(/^Export daily quota .*MB exceeded\.$/);
    expect(quota.classification.action).toBe('wait-for-quota-reset');
    expect(quota.classification.resetAt).toBeInstanceOf(Date);
  });

  it('reports a failed job with its errorMsg', async () => {
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0 }, faults: { failExports: 1 } });
    const error = await api.run({ kind: 'leads' }, { fields: ['id'], filter: { createdAt: WINDOW } }, fast, () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportNotCompletedError);
    expect((error as ExportNotCompletedError).job).toMatchObject({ status: 'Failed', errorMsg: expect.stringContaining('failed') });
  });

  it('keeps the file 7 days: then 404, while the status stays Completed', async () => {
    await configureBulk(t.emulator.subscription, { export: { rowsPerSecond: 0 } });
    const job = await leadsJob();
    await api.enqueue({ kind: 'leads' }, job.exportId);
    await api.waitUntilDone({ kind: 'leads' }, job.exportId, fast);
    t.emulator.subscription.clock.advance(7 * 86_400_000 + 60_000);
    const gone = await t.client.requestStream({ method: 'GET', path: `/bulk/v1/leads/export/${job.exportId}/file.json` });
    gone.body.resume();
    expect(gone.statusCode).toBe(404);
    expect((await api.status({ kind: 'leads' }, job.exportId)).status).toBe('Completed');
  });
});
