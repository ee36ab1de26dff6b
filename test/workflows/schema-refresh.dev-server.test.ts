import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { schemaRefresh } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from './support.js';

// End to end on the real Temporal dev server: worker, emulator over HTTP, Postgres state store.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, { emulator: { seed: { leads: 20, customObjects: 5 } } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

test('schema refresh reads every Describe, caches it, and sees a field added in Marketo Admin', async () => {
  const run = (id: string) => env.client.workflow.execute(schemaRefresh, { taskQueue: h.taskQueue, workflowId: id });

  const first = await run('schema-refresh-1');
  const objects = Object.fromEntries(first.objects.map((o) => [o.object, o.fields]));
  expect(objects.lead).toBe(h.emulator.subscription.leadFields().length);
  expect(Object.keys(objects)).toEqual(
    expect.arrayContaining(['lead', 'company', 'opportunity', 'opportunityRole', 'salesPerson', 'customObject:purchase_c']),
  );
  expect(first.apiCalls).toBe(first.objects.length + 1);
  const cached = await h.store.schemaCache.get('marketo', 'lead');
  expect((cached?.describe as { fields: unknown[] }).fields).toHaveLength(objects.lead!);

  h.emulator.subscription.addLeadField({ name: 'crmContactId', displayName: 'CRM Contact Id', dataType: 'string', length: 255 });
  const second = await run('schema-refresh-2');
  expect(second.fingerprint).not.toBe(first.fingerprint);
  expect(second.objects.find((o) => o.object === 'lead')?.fields).toBe(objects.lead! + 1);
});
