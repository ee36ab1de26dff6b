import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningEmulator } from '../../emulator/index.js';
import { schemaRefresh } from '../../workflows/index.js';
import type { TestDatabase } from '../support/db.js';
import { root, startCliStack, stopCliStack } from './support.js';

// `marketo-sync worker` as deployed: a spawned process configured by the environment only, doing a
// real workflow's activities, scraped on its /metrics, stopped by SIGTERM.
const SECRET = 'worker-test-secret-4e5f';
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  ({ env, emulator, db, dir } = await startCliStack('cli_worker', { clientId: 'worker-id', clientSecret: SECRET, leads: 5 }));
});

afterAll(() => stopCliStack({ env, emulator, db, dir }));

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('the worker runs activities, serves /metrics and /healthz, logs JSON without secrets, and exits 0 on SIGTERM', async () => {
  const taskQueue = `worker-cli-${Date.now()}`;
  const child: ChildProcessWithoutNullStreams = spawn(path.join(root, 'node_modules/.bin/tsx'), ['client/cli.ts', 'worker'], {
    cwd: root,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dir,
      TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: db.url,
      MARKETO_BASE_URL: emulator.url, MARKETO_CLIENT_ID: 'worker-id', MARKETO_CLIENT_SECRET: SECRET,
      METRICS_PORT: '0', LOG_LEVEL: 'debug',
    },
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /"metrics":"(http:\/\/[^"]+)"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`worker exited with ${code} before serving metrics:\n${stderr}`)));
  });
  try {
    const summary = await env.client.workflow.execute(schemaRefresh, { taskQueue, workflowId: `schema-refresh-${taskQueue}` });
    expect(summary.objects.length).toBeGreaterThan(0);

    const text = await (await fetch(metricsUrl)).text();
    expect(sample(text, 'marketo_sync_activity_duration_seconds_count', 'activity="refreshMarketoSchema",outcome="ok"')).toBe(1);
    expect(sample(text, 'marketo_api_calls_today', 'scope="deployment"')).toBe(summary.apiCalls);
    expect(text).toContain('marketo_sync_worker_process_resident_memory_bytes');
    const health = await fetch(metricsUrl.replace(/\/metrics$/, '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, detail: { worker: 'RUNNING' } });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  const lines = stderr.split('\n').filter((l) => l.startsWith('{'));
  expect(lines.length).toBeGreaterThan(2);
  for (const l of lines) expect(JSON.parse(l)).toMatchObject({ service: 'worker', level: expect.any(String) });
  expect(stderr).toContain('"msg":"worker stopped"');
  expect(stderr).not.toContain(SECRET);
}, 180_000);
