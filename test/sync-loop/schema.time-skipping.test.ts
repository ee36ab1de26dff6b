import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { workflowCode } from '../../workers/worker.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { readMarketoSchemas } from '../../src/reconcile/index.js';
import { syncLoop, syncNowSignal, syncStatusQuery } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startSyncHarness, statusWhen, type SyncHarness } from './support.js';

// A Marketo admin changes the schema while the loop runs: the next Describe notices, the saved
// mapping loses the field (a new version), status says so, and the sync goes on without it.
let env: TestWorkflowEnvironment;
let h: SyncHarness;
const SINCE = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startSyncHarness(env.nativeConnection, { seed: { leads: 3 } });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

async function hideLeadField(name: string): Promise<void> {
  const res = await fetch(`${h.emulator.url}/_emulator/schema/fields/hide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'lead', name }) });
  if (!res.ok) throw new Error(`hide ${name}: ${res.status} ${await res.text()}`);
}

const titleField = async () =>
  (await h.store.mappings.current())!.config.entities.filter((e) => e.marketo === 'lead').flatMap((e) => e.fields.filter((f) => f.marketo === 'title').map((f) => ({ crm: e.crm, enabled: f.enabled, disabledReason: f.disabledReason })));

test('a mapped field Marketo hides between cycles is switched off at the next Describe: new mapping version, warning in status, the rest still syncs', async () => {
  const version = await h.store.mappings.save(suggestMapping(await readMarketoSchemas(h.marketo), await h.crm.describe()), { author: 'test' });
  expect((await titleField()).filter((f) => f.enabled).length).toBeGreaterThan(0);
  const [contact] = await h.user.insert('contact', [{ email: 'schema@loop.example', first_name: 'Sam', title: 'Engineer' }]);
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'schema-mid-run', args: [{ since: SINCE, maxCycles: 2, intervalSeconds: 3_600, schemaRefreshEveryCycles: 1 }] });
  const first = await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  expect(first.schema.mappingWarnings.filter((w) => /title/.test(w))).toEqual([]);
  const lead = async () => (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact!], fields: ['id', 'firstName'] })).items[0];
  expect(await lead()).toMatchObject({ firstName: 'Sam' });

  // Mid-run: the admin hides Title; a CRM user then edits the contact's title and first name.
  await hideLeadField('title');
  await h.user.update('contact', [{ id: contact!, first_name: 'Samantha', title: 'CTO' }]);
  await handle.signal(syncNowSignal);
  await handle.result();
  const status = await handle.query(syncStatusQuery);
  expect(status.lastCycle).toMatchObject({ number: 2, outcome: 'succeeded', schemaRefreshed: true });
  expect(status.schema.fingerprint).not.toBe(first.schema.fingerprint);
  expect(status.schema.mappingWarnings).toEqual(expect.arrayContaining([expect.stringMatching(/field title ⇄ \w+ disabled: Marketo field 'title' no longer exists/)]));
  // The saved mapping was saved again with the field off, by the loop.
  const saved = (await h.store.mappings.current())!;
  expect(saved.version).toBeGreaterThan(version);
  const title = await titleField();
  expect(title.length).toBeGreaterThan(0);
  for (const f of title) expect(f).toMatchObject({ enabled: false, disabledReason: "Marketo field 'title' no longer exists" });
  // The push wrote the rest of the edit and nothing was refused for the hidden field.
  expect(status.lastCycle!.steps.find((s) => s.step === 'pushLeads')).toMatchObject({ written: 1, skipped: 0 });
  expect(await lead()).toMatchObject({ firstName: 'Samantha' });
  expect(await h.store.errors.list({ status: 'open' })).toEqual([]);
});

test('a mapped field Marketo hides between two Describes: the push ledgers what Marketo refuses (1006), the next cycle describes at once and pushes those records again without the field', async () => {
  await h.store.mappings.save(suggestMapping(await readMarketoSchemas(h.marketo), await h.crm.describe()), { author: 'test' });
  const [contact] = await h.user.insert('contact', [{ email: 'drift@loop.example', first_name: 'Dana', department: 'Ops' }]);
  // Describe only every 12 cycles: without the drift rule the refused edit would wait for cycle 13, then for an operator.
  const handle = await env.client.workflow.start(syncLoop, { taskQueue: h.taskQueue, workflowId: 'schema-between', args: [{ since: SINCE, maxCycles: 3, intervalSeconds: 3_600 }] });
  await statusWhen(handle, (s) => s.cycles === 1 && s.state === 'sleeping', 'first cycle done');
  await hideLeadField('department');
  await h.user.update('contact', [{ id: contact!, first_name: 'Danielle', department: 'Sales' }]);
  await handle.signal(syncNowSignal);
  const second = await statusWhen(handle, (s) => s.cycles === 2 && s.state === 'sleeping', 'second cycle done');
  expect(second.lastCycle).toMatchObject({ schemaRefreshed: false, outcome: 'succeeded' });
  expect(second.lastCycle!.steps.find((s) => s.step === 'pushLeads')).toMatchObject({ written: 0, skipped: 1, schemaDrift: 1 });
  const refused = await h.store.errors.list({ status: 'open' });
  expect(refused).toEqual([expect.objectContaining({ entity: 'contact', recordKey: contact, operation: 'push', code: '1006' })]);

  await handle.signal(syncNowSignal);
  await handle.result();
  const status = await handle.query(syncStatusQuery);
  expect(status.lastCycle).toMatchObject({ number: 3, outcome: 'succeeded', schemaRefreshed: true });
  expect(status.schema.mappingWarnings).toEqual(expect.arrayContaining([expect.stringMatching(/field department ⇄ \w+ disabled/)]));
  expect(status.lastCycle!.steps.find((s) => s.step === 'pushLeads')).toMatchObject({ written: 1, skipped: 0 });
  expect(status.lastCycle!.steps.find((s) => s.step === 'pushLeads')!.schemaDrift).toBeUndefined();
  const lead = (await h.marketo.leads.getByFilter({ filterType: 'crmId', filterValues: [contact!], fields: ['id', 'firstName'] })).items[0];
  expect(lead).toMatchObject({ firstName: 'Danielle' });
  expect(await h.store.errors.list({ status: 'open' })).toEqual([]);
  expect((await h.store.errors.list({})).find((e) => e.recordKey === contact && e.code === '1006')).toMatchObject({ status: 'resolved' });
  // The extra refresh is behind patched(): this history (with its marker) replays on the code.
  await Worker.runReplayHistory({ ...workflowCode() }, await handle.fetchHistory(), 'schema-between');
});
