import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { BulkExtractApi } from '../../src/marketo/bulk/index.js';
import { MarketoClient, PostgresRateLimiter, quotaDay } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { json, runCli, type CliRun } from './support.js';

// The operator commands as a user runs them: spawned processes against a real Postgres state store
// and the emulator as Marketo, real exit codes, `--json` parsed.
let emulator: RunningEmulator;
let db: TestDatabase;
let store: StateStore;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator({ clientId: 'ops-id', clientSecret: 'ops-secret', seed: { leads: 20 }, bulk: { export: { rowsPerSecond: 0 } } });
  // The lead field holding the CRM id: a subscription prepared for a CRM sync has one.
  emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  db = await createTestDatabase('cli_ops');
  store = await StateStore.open({ connectionString: db.url });
  dir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-ops-'));
  env = { DATABASE_URL: db.url, MARKETO_BASE_URL: emulator.url, MARKETO_CLIENT_ID: 'ops-id', MARKETO_CLIENT_SECRET: 'ops-secret', DATA_DIR: dir };
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  await emulator?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('mapping', () => {
  test('suggest writes a file; a typo is refused naming entity and field, exit 4, nothing stored; the good file is applied and shown', async () => {
    const file = path.join(dir, 'mapping.yaml');
    const suggested = await runCli(['mapping', 'suggest', '--out', file], env);
    expect(suggested.code).toBe(0);
    const yaml = readFileSync(file, 'utf8');
    expect(parse(yaml)).toMatchObject({ leadKey: { marketoField: 'crmId' } });

    const typo = path.join(dir, 'typo.yaml');
    expect(yaml).toMatch(/marketo: firstName\n/);
    writeFileSync(typo, yaml.replace(/marketo: firstName\n/, 'marketo: frstName\n'));
    const refused = await runCli(['mapping', 'apply', typo, '--json'], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/lead ⇄ lead\) fields\[\d+\]: unknown Marketo lead field 'frstName'; did you mean 'firstName'\?/);
    expect(json<{ exitCode: number; details: { problems: string[] } }>(refused)).toMatchObject({ exitCode: 4, details: { problems: expect.arrayContaining([expect.stringContaining("'frstName'")]) } });
    expect(await store.mappings.versions()).toEqual([]);

    const applied = await runCli(['mapping', 'apply', file, '--author', 'ops test', '--json'], env);
    expect(applied.code).toBe(0);
    expect(json<{ version: number; warnings: string[] }>(applied).version).toBe(1);

    const shown = await runCli(['mapping', 'show', '--json'], env);
    expect(shown.code).toBe(0);
    const stored = json<{ version: number; author: string; config: unknown }>(shown);
    expect(stored).toMatchObject({ version: 1, author: 'ops test' });
    expect(stored.config).toEqual(parse(yaml));
  });
});

describe('errors', () => {
  beforeAll(async () => {
    await store.errors.record([
      { entity: 'lead', recordKey: '101', operation: 'push', source: 'marketo', code: '1003', reason: 'Invalid value for field \'email\'' },
      { entity: 'lead', recordKey: '102', operation: 'push', source: 'marketo', code: '1006', reason: 'Field \'frst\' not found' },
      { entity: 'account', recordKey: 'a-7', operation: 'write', source: 'crm', code: '23505', reason: 'duplicate key' },
    ]);
  });

  test('list filters by operation, alone and with a code', async () => {
    const keys = (run: CliRun) => json<{ entries: { recordKey: string }[] }>(run).entries.map((e) => e.recordKey).sort();
    const pushes = await runCli(['errors', 'list', '--operation', 'push', '--json'], env);
    expect(pushes.code).toBe(0);
    expect(keys(pushes)).toEqual(['101', '102']);
    const both = await runCli(['errors', 'list', '--operation', 'push', '--code', '1006', '--json'], env);
    expect(keys(both)).toEqual(['102']);
    const writes = await runCli(['errors', 'list', '--operation', 'write'], env);
    expect(writes.code).toBe(0);
    expect(writes.stdout).toMatch(/a-7\s+write\s+crm\s+23505/);
    expect(writes.stdout).not.toMatch(/\b10[12]\b/);
  });

  test('list filters by entity and code; retry --all by code changes only those; bad values are usage errors (exit 2)', async () => {
    const listed = await runCli(['errors', 'list', '--entity', 'lead', '--code', '1003', '--json'], env);
    expect(listed.code).toBe(0);
    const { counts, entries } = json<{ counts: Record<string, number>; entries: { id: string; recordKey: string; code: string }[] }>(listed);
    expect(counts).toMatchObject({ open: 3 });
    expect(entries.map((e) => [e.recordKey, e.code])).toEqual([['101', '1003']]);

    const retried = await runCli(['errors', 'retry', '--all', '--code', '1006', '--json'], env);
    expect(retried.code).toBe(0);
    expect(json(retried)).toEqual({ requested: 1, changed: 1 });
    const ignored = await runCli(['errors', 'ignore', entries[0]!.id], env);
    expect(ignored.code).toBe(0);
    expect(ignored.stdout).toMatch(/1 of 1 entries ignored/);
    const byKey = Object.fromEntries((await store.errors.list()).map((e) => [e.recordKey, e.status]));
    expect(byKey).toEqual({ '101': 'ignored', '102': 'retrying', 'a-7': 'open' });

    const byOperation = await runCli(['errors', 'ignore', '--all', '--operation', 'write', '--code', '1003', '--json'], env);
    expect(json(byOperation)).toEqual({ requested: 0, changed: 0 });

    const bad = await runCli(['errors', 'list', '--status', 'broken'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status/);
  });
});

test('usage reports Marketo calls and export MB of today against the quotas', async () => {
  // One finished export today, so the MB side has something to add up, made by another process of
  // the deployment: a client on the shared limiter the CLI uses (key: the instance's host).
  const limiter = await PostgresRateLimiter.create({ pool: store.pool, key: new URL(emulator.url).host, limits: { callsPerWindow: 100, windowMs: 20_000, maxConcurrent: 10, dailyCalls: 1000 } });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'ops-id', clientSecret: 'ops-secret', limiter });
  const bulk = new BulkExtractApi(marketo);
  const now = new Date();
  const job = await bulk.create({ kind: 'leads' }, { fields: ['id', 'email'], format: 'CSV', filter: { createdAt: { startAt: new Date(now.getTime() - 20 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'), endAt: now.toISOString().replace(/\.\d+Z$/, 'Z') } } });
  await bulk.enqueue({ kind: 'leads' }, job.exportId);
  const done = await bulk.waitUntilDone({ kind: 'leads' }, job.exportId, { pollIntervalMs: 20 });
  expect(done.status).toBe('Completed');

  const today = quotaDay(new Date());
  const before = emulator.runtime.stats.usage([today])[0]!.total;
  const run = await runCli(['usage', '--json'], { ...env, MARKETO_DAILY_CALLS: '1000', MARKETO_DAILY_EXPORT_MB: '100' });
  expect(run.code).toBe(0);
  const report = json<{ day: string; apiCalls: { marketo: number; quota: number; remaining: number; client: number; clientByEndpoint: Record<string, number> }; bulkExport: { bytes: number; jobs: number; quotaMb: number }; callsSpentByThisReport: number }>(run);
  // Marketo's count when asked: stats/usage is the report's first call and counts only after it.
  expect(report.day).toBe(today);
  expect(report.apiCalls.marketo).toBe(before);
  // The report's own cost is what Marketo counted while it ran, not the deployment's day.
  const after = emulator.runtime.stats.usage([today])[0]!.total;
  expect(report.callsSpentByThisReport).toBe(after - before);
  expect(report.apiCalls).toMatchObject({ quota: 1000, remaining: 1000 - report.apiCalls.marketo });
  // The shared limiter counted every process of this deployment: the export's client, this report.
  const shared = await limiter.sharedUsage();
  await limiter.close();
  expect(report.apiCalls.client).toBe(shared.total);
  expect(report.apiCalls.client).toBeGreaterThanOrEqual(report.callsSpentByThisReport + 3);
  // One entry per endpoint, the export's id folded into {exportId}; the counts add up to the total.
  const byEndpoint = report.apiCalls.clientByEndpoint;
  expect(byEndpoint).toMatchObject({ 'POST /bulk/v1/leads/export/{exportId}/enqueue.json': 1, 'GET /bulk/v1/leads/export/{exportId}/status.json': expect.any(Number) });
  expect(Object.keys(byEndpoint).filter((e) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(e))).toEqual([]);
  expect(Object.values(byEndpoint).reduce((a, b) => a + b, 0)).toBe(shared.total);
  expect(report.bulkExport).toEqual(expect.objectContaining({ bytes: done.fileSize, jobs: 1, quotaMb: 100 }));
  expect(done.fileSize).toBeGreaterThan(0);
});
