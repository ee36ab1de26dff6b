import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn } from 'node:child_process';
import type { RunningEmulator } from '../../emulator/index.js';
import { ensureSearchAttributes } from '../../workers/worker.js';
import { MarketoSyncKind, MarketoSyncState } from '../../workflows/search-attributes.js';
import type { TestDatabase } from '../support/db.js';
import { root, runCli, startCliStack, stopCliStack } from './support.js';

// TEMPORAL_SEARCH_ATTRIBUTES as the CLI's starters obey it, on a dev server whose namespace has the
// attributes: on (the default), a start carries MarketoSyncKind/MarketoSyncState; false, it carries
// none, whichever command starts the workflow. No worker runs: only the starts are looked at.
let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  ({ env, emulator, db, dir } = await startCliStack('cli_start_attrs', { clientId: 'sa-id', clientSecret: 'sa-secret', leads: 3 }));
  await ensureSearchAttributes(env.nativeConnection, 'default');
});

afterAll(() => stopCliStack({ env, emulator, db, dir }));

const baseEnv = (taskQueue: string, flag?: string) => ({
  DATA_DIR: dir, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: db.url,
  MARKETO_BASE_URL: emulator.url, MARKETO_CLIENT_ID: 'sa-id', MARKETO_CLIENT_SECRET: 'sa-secret',
  ...(flag === undefined ? {} : { TEMPORAL_SEARCH_ATTRIBUTES: flag }),
});

async function attributesOf(workflowId: string) {
  const described = await env.client.workflow.getHandle(workflowId).describe();
  return { kind: described.typedSearchAttributes.get(MarketoSyncKind), state: described.typedSearchAttributes.get(MarketoSyncState) };
}

/**
 * `bootstrap --no-worker` waits for the run it started (its progress query waits for a worker that
 * never comes): once the run exists its attributes are read, the run is terminated and the command
 * killed.
 */
async function bootstrapStart(taskQueue: string, flag?: string) {
  // One process (node with tsx's loader, not the tsx wrapper), so the kill below reaches the CLI itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'bootstrap', '--no-worker', '--entities', 'leads'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...baseEnv(taskQueue, flag) },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const workflowId = `marketo-sync-bootstrap-${taskQueue}`;
  const started = await new Promise<boolean>((resolve) => {
    const poll = setInterval(() => {
      if (/bootstrap \S+ started/.test(stderr)) finish(true);
    }, 100);
    const finish = (ok: boolean) => {
      clearInterval(poll);
      resolve(ok);
    };
    void exited.then(() => finish(/bootstrap \S+ started/.test(stderr)));
  });
  if (!started) throw new Error(`bootstrap did not start:\n${stderr}`);
  const attributes = await attributesOf(workflowId);
  await env.client.workflow.getHandle(workflowId).terminate('test: only the start is looked at');
  // SIGKILL: the Temporal runtime would answer SIGTERM by draining, behind a query that waits 30 s for a worker.
  child.kill('SIGKILL');
  await exited;
  return { attributes, stderr };
}

test('bootstrap: marked by default, unmarked with TEMPORAL_SEARCH_ATTRIBUTES=false (and no note about the namespace)', async () => {
  const marked = await bootstrapStart(`sa-boot-on-${Date.now()}`);
  expect(marked.attributes).toEqual({ kind: 'bootstrap', state: 'running' });

  const unmarked = await bootstrapStart(`sa-boot-off-${Date.now()}`, 'false');
  expect(unmarked.attributes).toEqual({ kind: undefined, state: undefined });
  expect(unmarked.stderr).not.toMatch(/search attributes/);
});

test('sync start --no-worker: marked by default, unmarked with TEMPORAL_SEARCH_ATTRIBUTES=false', async () => {
  const on = `sa-sync-on-${Date.now()}`;
  const marked = await runCli(['sync', 'start', '--no-worker', '--json'], baseEnv(on));
  expect(marked.code).toBe(0);
  expect(await attributesOf(`marketo-sync-loop-${on}`)).toEqual({ kind: 'syncLoop', state: 'starting' });

  const off = `sa-sync-off-${Date.now()}`;
  const unmarked = await runCli(['sync', 'start', '--no-worker', '--json'], baseEnv(off, 'false'));
  expect(unmarked.code).toBe(0);
  expect(await attributesOf(`marketo-sync-loop-${off}`)).toEqual({ kind: undefined, state: undefined });
  for (const id of [`marketo-sync-loop-${on}`, `marketo-sync-loop-${off}`]) await env.client.workflow.getHandle(id).terminate('test done');
});
