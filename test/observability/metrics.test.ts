import { createSyncMetrics, type SyncMetrics } from '../../src/observability/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/observability/metrics-server.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

// The worker's /metrics as Prometheus scrapes it: real HTTP, values read from a real state store.
let db: TestDatabase;
let store: StateStore;
let metrics: SyncMetrics;
let server: MetricsServer;
let healthy = true;
// The shared limiter's view from this process: `dailyCalls` is the deployment's total as last seen,
// `perEndpoint` this process's own calls (12), two of them status polls of one export job.
const JOB_A = '5b2c3aaf-c2f2-4aaf-9882-4ab41e1bf788';
const JOB_B = '6990f742-d57a-46cf-86a1-979182fbf71c';
const usage = { dailyCalls: 38, dailyLimit: 50_000, perEndpoint: { 'GET /rest/v1/leads.json': 10, [`GET /bulk/v1/leads/export/${JOB_A}/status.json`]: 2 } };
const deployment = {
  day: '2026-11-28',
  total: 40,
  perEndpoint: {
    'GET /rest/v1/leads.json': 30,
    'POST /rest/v1/leads.json': 6,
    [`GET /bulk/v1/leads/export/${JOB_A}/status.json`]: 2,
    [`GET /bulk/v1/leads/export/${JOB_B}/status.json`]: 1,
    'GET /bulk/v1/leads/export/{exportId}/file.json': 1,
  },
};

/** The value of one sample line, e.g. `marketo_sync_records_total{entity="lead",direction="toCrm",outcome="created"}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inner = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = Object.fromEntries([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

beforeAll(async () => {
  db = await createTestDatabase('metrics');
  store = await StateStore.open({ connectionString: db.url });
  // History from before the worker started: counted in records, not observed as new cycle durations.
  const old = await store.cycles.start('sync');
  await store.cycles.addCounts(old, [{ entity: 'lead', direction: 'toCrm', created: 5, updated: 2 }], 9);
  await store.cycles.finish(old, { status: 'succeeded' });
  metrics = await createSyncMetrics({ pool: store.pool, schema: store.schema, processUsage: () => usage, sharedUsage: async () => deployment }, { defaultMetrics: false });
  server = await startMetricsServer(metrics.registry, { port: 0, host: '127.0.0.1', healthy: () => ({ ok: healthy }) });
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await db?.drop();
});

test('records moved, cycle durations, ledger, API calls and quota are scraped from the state store and the client', async () => {
  const cycle = await store.cycles.start('sync');
  await store.cycles.addCounts(cycle, [
    { entity: 'lead', direction: 'toCrm', created: 3 },
    { entity: 'account', direction: 'toMarketo', updated: 4, failed: 1 },
  ]);
  await store.cycles.finish(cycle, { status: 'succeeded' });
  await store.errors.record([
    { entity: 'lead', recordKey: '7', operation: 'push', source: 'marketo', code: '1003', reason: 'bad' },
    { entity: 'lead', recordKey: '8', operation: 'push', source: 'marketo', code: '1003', reason: 'bad' },
    { entity: 'account', recordKey: 'x', operation: 'write', source: 'crm', code: '23505', reason: 'dup' },
  ]);
  metrics.observeActivity('pushLeads', 0.2, 'ok');
  metrics.observeActivity('pushLeads', 0.1, 'failed', '606');

  const text = await scrape();
  expect(sample(text, 'marketo_sync_records_total', { entity: 'lead', direction: 'toCrm', outcome: 'created' })).toBe(8);
  expect(sample(text, 'marketo_sync_records_total', { entity: 'lead', direction: 'toCrm', outcome: 'updated' })).toBe(2);
  expect(sample(text, 'marketo_sync_records_total', { entity: 'account', direction: 'toMarketo', outcome: 'failed' })).toBe(1);
  // Only the cycle that finished while this process ran is a new observation.
  expect(sample(text, 'marketo_sync_cycle_duration_seconds_count', { kind: 'sync', status: 'succeeded' })).toBe(1);
  expect(sample(text, 'marketo_sync_last_cycle_finished_timestamp_seconds', { kind: 'sync' })).toBeGreaterThan(Date.now() / 1000 - 600);
  expect(sample(text, 'marketo_sync_ledger_entries', { status: 'open', code: '1003', entity: 'lead' })).toBe(2);
  expect(sample(text, 'marketo_sync_ledger_entries', { status: 'open', code: '23505', entity: 'account' })).toBe(1);
  // This worker's own calls, not the deployment's total the shared limiter last answered (replicas add up with sum).
  expect(sample(text, 'marketo_api_calls_today', { scope: 'process' })).toBe(12);
  expect(sample(text, 'marketo_api_calls_today', { scope: 'deployment' })).toBe(40);
  expect(sample(text, 'marketo_api_calls_by_endpoint_today', { endpoint: 'POST /rest/v1/leads.json' })).toBe(6);
  // One series per endpoint, not one per export job: the jobs' calls add up under {exportId}.
  expect(sample(text, 'marketo_api_calls_by_endpoint_today', { endpoint: 'GET /bulk/v1/leads/export/{exportId}/status.json' })).toBe(3);
  expect(sample(text, 'marketo_api_calls_by_endpoint_today', { endpoint: 'GET /bulk/v1/leads/export/{exportId}/file.json' })).toBe(1);
  expect(text).not.toContain(JOB_A);
  expect(text).not.toContain(JOB_B);
  expect(sample(text, 'marketo_api_quota_remaining')).toBe(50_000 - 40);
  expect(sample(text, 'marketo_sync_activity_duration_seconds_count', { activity: 'pushLeads', outcome: 'ok' })).toBe(1);
  expect(sample(text, 'marketo_sync_errors_total', { activity: 'pushLeads', code: '606' })).toBe(1);

  // A second scrape adds only what is new: counters do not double, an observed cycle is not observed again.
  const next = await store.cycles.start('sync');
  await store.cycles.addCounts(next, [{ entity: 'lead', direction: 'toCrm', created: 1 }]);
  await store.cycles.finish(next, { status: 'failed', error: 'x' });
  await new Promise((r) => setTimeout(r, 1_100));
  const again = await scrape();
  expect(sample(again, 'marketo_sync_records_total', { entity: 'lead', direction: 'toCrm', outcome: 'created' })).toBe(9);
  expect(sample(again, 'marketo_sync_cycle_duration_seconds_count', { kind: 'sync', status: 'succeeded' })).toBe(1);
  expect(sample(again, 'marketo_sync_cycle_duration_seconds_count', { kind: 'sync', status: 'failed' })).toBe(1);
});

test('/healthz follows the worker state; unknown paths are 404', async () => {
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  healthy = false;
  const res = await fetch(`${server.url}/healthz`);
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ ok: false });
  healthy = true;
  expect((await fetch(`${server.url}/nope`)).status).toBe(404);
});
