import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { configureBulk } from '../../emulator/bulk/service.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import type { bulkExport } from '../../workflows/bulk-export.js';
import { bootstrap } from '../../workflows/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { createDevServerEnv } from '../support/temporal.js';
import type { WorkflowHarness } from '../workflows/support.js';
import { crmPersonCounts, FAST_POLL, reconcileHarness } from './support.js';

// A worker process killed with SIGKILL while it streams an export into the CRM; a new worker
// process takes the download over from its last heartbeat and the CRM ends up holding exactly
// the emulator's leads: none missing, none twice, none different.
const root = fileURLToPath(new URL('../..', import.meta.url));
const LEADS = 6_000;
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let db: TestDatabase;
let store: StateStore;
let crm: PostgresCrmConnector;
let marketo: MarketoClient;
const workers: ChildProcess[] = [];
// Two worker processes start in this test: both load the workflow code the suite bundled once
// (MARKETO_SYNC_WORKFLOW_BUNDLE, passed on in process.env), and the generous timeouts leave room for a busy machine.
const SLOW = 240_000;

function startWorker(taskQueue: string): Promise<ChildProcess> {
  // Node itself with tsx as a loader: the tsx CLI would put a second process between us and the worker.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bootstrap/fixtures/worker-process.ts'], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: taskQueue, MARKETO_URL: emulator.url, DATABASE_URL: db.url, BATCH_SIZE: '100' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) resolve(child);
    });
  });
}

beforeAll(async () => {
  env = await createDevServerEnv();
  emulator = await startEmulator({ clientId: 'test-id', clientSecret: 'test-secret', seed: { leads: LEADS, from: '2024-03-01T00:00:00Z', to: '2024-03-20T00:00:00Z' } });
  await configureBulk(emulator.subscription, { export: { rowsPerSecond: 0 } });
  db = await createTestDatabase('kill');
  store = await StateStore.open({ connectionString: db.url });
  crm = await PostgresCrmConnector.open({ connectionString: db.url });
  marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'test-id', clientSecret: 'test-secret' });
}, SLOW);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await store?.close();
  await crm?.close();
  await db?.drop();
  await emulator?.close();
  await env?.teardown();
});

test('SIGKILL during a download: a restarted worker resumes from the heartbeat and the CRM matches the emulator exactly', async () => {
  const taskQueue = `kill-${Math.random().toString(36).slice(2)}`;
  const first = await startWorker(taskQueue);
  const handle = await env.client.workflow.start(bootstrap, {
    taskQueue,
    workflowId: 'bootstrap-kill',
    args: [{ since: '2024-03-01T00:00:00Z', highWatermark: '2024-03-31T00:00:00Z', entities: { leads: { enabled: true } }, poll: FAST_POLL, ingestHeartbeatTimeout: '3 seconds' }],
  });

  const h = { marketo, crm, store } as WorkflowHarness;
  // Kill once some batches are committed and the file is far from done.
  let written = 0;
  for (let i = 0; i < 3000 && written < 500; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const c = await crmPersonCounts(h);
    written = c.leads + c.contacts;
  }
  expect(written).toBeGreaterThanOrEqual(500);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = await crmPersonCounts(h);
  expect(atKill.leads + atKill.contacts).toBeLessThan(LEADS);

  await startWorker(taskQueue);
  const result = await handle.result();
  expect(result.progress.phases.leads).toMatchObject({ windowsTotal: 1, windowsDone: 1, failed: 0 });

  // The retried download began where the last heartbeat left it, not at byte 0.
  const window = await env.client.workflow.getHandle<typeof bulkExport>('bootstrap-kill/leads/0').result();
  expect(window.resumedFrom).toBeGreaterThan(0);
  // Row numbering carries on from the heartbeat: the file's rows are counted once.
  expect(window.rows).toBe(LEADS);

  const counts = await crmPersonCounts(h);
  expect(counts.leads + counts.contacts).toBe(LEADS);
  expect(counts.distinctMarketoIds).toBe(LEADS);
  const report = await reconcileHarness(h, '2024-03-01T00:00:00Z', '2024-03-31T00:00:00Z');
  expect(report).toMatchObject({ marketoRecords: LEADS, crmRecords: LEADS, matched: LEADS, ok: true });
}, SLOW);
