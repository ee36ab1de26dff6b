import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ensureSearchAttributes } from '../../workers/worker.js';
import { MarketoSyncKind, MarketoSyncState, startSearchAttributes } from '../../workflows/search-attributes.js';
import { createDevServerEnv } from '../support/temporal.js';

// A dev server started without the attributes, as an operator's might be: the worker's start-up
// registers them, and a workflow's markSyncState is then visible (and filterable) on its execution.
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

test('the worker registers MarketoSyncKind/MarketoSyncState once, and a run started with its kind moves its state with markSyncState', async () => {
  const first = await ensureSearchAttributes(env.nativeConnection, 'default');
  expect(first.sort()).toEqual(['MarketoSyncKind', 'MarketoSyncState']);
  expect(await ensureSearchAttributes(env.nativeConnection, 'default')).toEqual([]);

  const taskQueue = 'search-attributes-test';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./fixtures/marked-workflow.ts', import.meta.url)),
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('markedSync', { taskQueue, workflowId: `marked-${Date.now()}`, typedSearchAttributes: startSearchAttributes('syncLoop', 'starting') });
    const stateOf = async () => (await handle.describe()).typedSearchAttributes.get(MarketoSyncState);
    for (let i = 0; i < 100 && (await stateOf()) !== 'running'; i++) await new Promise((r) => setTimeout(r, 100));
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(MarketoSyncKind)).toBe('syncLoop');
    expect(described.typedSearchAttributes.get(MarketoSyncState)).toBe('running');
    await handle.signal('pause');
    expect(await handle.result()).toBe('done');
    expect((await handle.describe()).typedSearchAttributes.get(MarketoSyncState)).toBe('paused');
  });
});
