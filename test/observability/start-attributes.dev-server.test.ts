import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { OnDemandSyncResult } from '../../activities/on-demand.js';
import type { SchemaRefreshSummary } from '../../activities/schema.js';
import { MarkedStarter } from '../../client/runtime/start-attributes.js';
import { temporalSyncStarter } from '../../client/webhook/temporal-starter.js';
import { ensureSearchAttributes, workflowsPath } from '../../workers/worker.js';
import { schemaRefresh } from '../../workflows/index.js';
import { MarketoSyncKind, MarketoSyncState } from '../../workflows/search-attributes.js';
import { createDevServerEnv } from '../support/temporal.js';

// The attributes set by the starters, and the state the workflows upsert afterwards, on a real dev
// server: first without the attributes (as a fresh Cloud namespace is), then after the worker added them.
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'start-attributes-test';
/** The schema activity waits here until the test lets go (whichever comes first). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
let gate = deferred();
const releaseSchema = () => gate.resolve();

beforeAll(async () => {
  env = await createDevServerEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: workflowsPath(),
    activities: {
      // Held until the test lets go, so the run's first state can be seen while it runs.
      refreshMarketoSchema: async (): Promise<SchemaRefreshSummary> => {
        await gate.promise;
        gate = deferred();
        return { objects: [], fingerprint: 'f', apiCalls: 3 };
      },
      syncLeadOnDemand: async (input: { leadId: number }): Promise<OnDemandSyncResult> => ({ leadId: input.leadId, outcome: 'created', crmType: 'lead', crmId: 'L1' }),
    },
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

const attributes = async (workflowId: string) => {
  const described = await env.client.workflow.getHandle(workflowId).describe();
  return { kind: described.typedSearchAttributes.get(MarketoSyncKind), state: described.typedSearchAttributes.get(MarketoSyncState) };
};

test('a namespace without the attributes: the start goes ahead unmarked, said once; the workflow leaves them alone', async () => {
  const said: string[] = [];
  const starter = new MarkedStarter((line) => said.push(line));
  const first = await starter.start('schemaRefresh', 'running', (a) => env.client.workflow.start(schemaRefresh, { taskQueue, workflowId: 'unmarked-1', ...a }));
  releaseSchema();
  await first.result();
  const second = await starter.start('schemaRefresh', 'running', (a) => env.client.workflow.start(schemaRefresh, { taskQueue, workflowId: 'unmarked-2', ...a }));
  releaseSchema();
  await second.result();
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(/lacks the MarketoSyncKind\/MarketoSyncState search attributes/);
  expect(await attributes('unmarked-1')).toEqual({ kind: undefined, state: undefined });
});

test('with the attributes: kind and first state from the starter, then the states the workflow goes through', async () => {
  expect((await ensureSearchAttributes(env.nativeConnection, 'default')).sort()).toEqual(['MarketoSyncKind', 'MarketoSyncState']);
  const said: string[] = [];
  const handle = await new MarkedStarter((line) => said.push(line)).start('schemaRefresh', 'running', (a) => env.client.workflow.start(schemaRefresh, { taskQueue, workflowId: 'marked-schema', ...a }));
  expect(await attributes('marked-schema')).toEqual({ kind: 'schemaRefresh', state: 'running' });
  releaseSchema();
  await handle.result();
  expect(await attributes('marked-schema')).toEqual({ kind: 'schemaRefresh', state: 'done' });
  expect(said).toEqual([]);

  // The webhook receiver's signal-with-start marks a new on-demand run.
  const started = await temporalSyncStarter(env.client, taskQueue)(4711, 'req-1');
  expect(started.workflowId).toBe('on-demand-4711');
  expect(await env.client.workflow.getHandle(started.workflowId).result()).toMatchObject({ leadId: 4711, outcome: 'created', writes: 1 });
  expect(await attributes('on-demand-4711')).toEqual({ kind: 'onDemand', state: 'done' });
});
