import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { reconcile, type ReconcileResult } from '../../src/reconcile/index.js';
import { BOOTSTRAP_ENTITIES, type BootstrapInput, type BootstrapProgress } from '../../workflows/bootstrap-types.js';
import { bootstrap, bootstrapProgressQuery, onDemandStatusQuery, schemaRefresh, syncLoop } from '../../workflows/index.js';
import { BootstrapBars, type BootstrapBarsOptions } from '../output/bootstrap-bars.js';
import { DEFAULT_WAIT_MS } from '../webhook/limits.js';
import { createWebhookServer, listen, WEBHOOK_PATH } from '../webhook/server.js';
import { temporalSyncAwaiter, temporalSyncStarter } from '../webhook/temporal-starter.js';
import type { AppRuntime } from './app.js';
import { MarkedStarter } from './start-attributes.js';

export interface DemoOptions {
  cycles: number;
  /** One line of the story (stdout). */
  say(line: string): void;
}

export interface DemoReport {
  schema: { objects: { object: string; fields: number }[]; fingerprint: string };
  bootstrap: { highWatermark: string; phases: Record<string, { records: number; written: number; failed: number; apiCalls: number }> };
  changes: { marketo: { updated: number; created: number }; crm: { updated: number; created: number } };
  cycles: { id: string; kind: string; status: string; durationMs: number | null; apiCalls: number; records: { entity: string; direction: string; created: number; updated: number; deleted: number; failed: number }[] }[];
  /** `answer`: the receiver's `status` (`synced` in wait mode, the default); `crmId`: what it answered. */
  webhook: { leadId: number; status: number; answer: string; workflowId: string; crmId?: string; crmRow: boolean; ms: number };
  reconciliation: { ok: boolean; differences: number; apiCalls: number; entities: { entity: string; marketo: number; crm: number; matched: number; ok: boolean }[] };
  apiCalls: { client: number; tokenRequests: number; emulatorCounted?: number; dailyLimit: number };
  ui: string;
  workflowIds: string[];
}

/** Status polls fit the emulator: Marketo itself refreshes export status once a minute. */
const EMULATOR_POLL = { initialMs: 200, maxMs: 1_000, queueFullMs: 500 };

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The demo's bootstrap bars: those of `marketo-sync bootstrap`, indented into the story. */
export function demoBootstrapBars(options: BootstrapBarsOptions = {}): BootstrapBars {
  return new BootstrapBars({ indent: '  ', ...options });
}

/** The bootstrap with the bars `marketo-sync bootstrap` draws (windows, records, bytes, calls, state, expired exports), from its `progress` query. */
async function bootstrapWithBars(client: Client, marked: MarkedStarter, taskQueue: string, workflowId: string, input: BootstrapInput): Promise<BootstrapProgress> {
  const handle = await marked.start('bootstrap', 'running', (attributes) => client.workflow.start(bootstrap, { taskQueue, workflowId, args: [input], ...attributes }));
  const bars = demoBootstrapBars();
  let done = false;
  const result = handle.result().finally(() => (done = true));
  try {
    for (;;) {
      const finished = done;
      let progress: BootstrapProgress | undefined;
      try {
        progress = await handle.query(bootstrapProgressQuery);
      } catch {
        // The first workflow task has not run yet: no query handler to answer.
      }
      if (progress) bars.show(progress);
      if (finished) break;
      await Promise.race([result.catch(() => undefined), sleep(500)]);
    }
  } finally {
    bars.stop();
  }
  return (await result).progress;
}

/**
 * The main job on the embedded default: schema refresh, bootstrap with progress bars, changes on
 * both sides, sync cycles, one webhook, reconciliation. Every step runs as the product runs it
 * (workflows on the worker, the webhook through the real receiver); only the "users" editing
 * Marketo and the CRM are simulated, on the emulator and through the CRM's own tables.
 */
export async function runDemo(app: AppRuntime, opts: DemoOptions): Promise<DemoReport> {
  const { say } = opts;
  const taskQueue = app.config.temporal.taskQueue;
  const run = stamp();
  const ids: string[] = [];
  const emulator = app.services.emulator;
  const marked = new MarkedStarter((line) => say(`   note: ${line}`));

  say('1. Schema refresh (workflow schemaRefresh): Describe is the only source of truth for fields');
  const schemaId = `demo-schema-refresh-${run}`;
  ids.push(schemaId);
  const schema = await marked.start('schemaRefresh', 'running', (attributes) => app.client.workflow.execute(schemaRefresh, { taskQueue, workflowId: schemaId, ...attributes }));
  for (const o of schema.objects) say(`   ${o.object.padEnd(28)} ${String(o.fields).padStart(4)} fields`);

  say('2. Bootstrap (workflow bootstrap): bulk extracts in 31-day windows, two jobs at Marketo at a time');
  const since = new Date(Date.now() - 400 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const bootstrapId = `demo-bootstrap-${run}`;
  ids.push(bootstrapId);
  const progress = await bootstrapWithBars(app.client, marked, taskQueue, bootstrapId, {
    since,
    entities: Object.fromEntries(BOOTSTRAP_ENTITIES.map((e) => [e, { enabled: true }])),
    ...(emulator ? { poll: EMULATOR_POLL } : {}),
  });
  const phases = Object.fromEntries(Object.entries(progress.phases).map(([name, p]) => [name, { records: p.records, written: p.written, failed: p.failed, apiCalls: p.apiCalls }]));
  for (const [name, p] of Object.entries(phases)) say(`   ${name.padEnd(16)} ${String(p.written).padStart(6)} written, ${p.failed} failed, ${p.apiCalls} API calls`);

  say('3. Changes on both sides, as their users make them');
  const changes = { marketo: { updated: 0, created: 0 }, crm: { updated: 0, created: 0 } };
  if (emulator) {
    const sub = emulator.subscription;
    const maxId = sub.leads.maxId;
    for (const id of [maxId, maxId - 1, maxId - 2]) {
      if (sub.getLead(id) && sub.editLeadAsUser(id, { title: 'VP Demand Generation' }).length > 0) changes.marketo.updated++;
    }
    for (let i = 1; i <= 2; i++) {
      sub.createLead({ email: `demo.new${i}.${run}@example.com`, firstName: `New${i}`, lastName: 'Marketo-Lead', company: 'Demo Corp' }, 1, 'Web client');
      changes.marketo.created++;
    }
  }
  const user = await PostgresCrmConnector.open({ connectionString: app.services.databaseUrl, writeOrigin: 'user' });
  try {
    const contacts = (await user.pool.query<{ id: string }>('SELECT id::text AS id FROM crm.contacts ORDER BY id LIMIT 2')).rows;
    if (contacts.length) {
      const results = await user.upsert('contact', contacts.map((c) => ({ id: c.id, title: 'Head of Revenue Operations' })), { keyField: 'id', updateOnly: true });
      changes.crm.updated += results.filter((r) => r.status !== 'failed').length;
    }
    // A contact belongs to an account: that is also how Marketo's side routes the person back as a contact.
    const account = (await user.pool.query<{ id: string }>('SELECT id::text AS id FROM crm.accounts ORDER BY id LIMIT 1')).rows[0];
    const created = await user.upsert('contact', [{ email: `demo.crm.${run}@example.com`, first_name: 'Casey', last_name: 'CRM-Contact', title: 'Buyer', ...(account ? { account_id: account.id } : {}) }], { keyField: 'id' });
    changes.crm.created += created.filter((r) => r.status !== 'failed').length;
  } finally {
    await user.close();
  }
  // The "users" edit the emulator in this process, not through its API: saved like an API change.
  await emulator?.persistence?.commit();
  say(`   Marketo: ${changes.marketo.updated} leads edited, ${changes.marketo.created} created; CRM: ${changes.crm.updated} contacts edited, ${changes.crm.created} created`);
  // Marketo's timestamps have one-second resolution: the edits must be older than the cycle's read.
  await sleep(1_100);

  say(`4. Sync cycles (workflow syncLoop): ${opts.cycles} cycles of the 14-step order, then stop`);
  const loopId = `demo-sync-loop-${run}`;
  ids.push(loopId);
  const loop = await marked.start('syncLoop', 'starting', (attributes) =>
    app.client.workflow.execute(syncLoop, { taskQueue, workflowId: loopId, args: [{ maxCycles: opts.cycles, intervalSeconds: 1 }], ...attributes }),
  );
  const recent = await app.store.cycles.recent(opts.cycles + 5);
  const cycles = recent
    .filter((c) => c.kind !== 'bootstrap')
    .slice(0, opts.cycles)
    .reverse()
    .map((c) => ({ id: c.id, kind: c.kind, status: c.status, durationMs: c.durationMs, apiCalls: c.apiCalls, records: c.records }));
  for (const c of cycles) {
    const moved = c.records.filter((r) => r.created + r.updated + r.deleted + r.failed > 0).map((r) => `${r.entity} ${r.direction} +${r.created} ~${r.updated} -${r.deleted}${r.failed ? ` !${r.failed}` : ''}`);
    say(`   cycle ${c.id}: ${c.status} in ${c.durationMs ?? '?'} ms, ${c.apiCalls} API calls${moved.length ? `; ${moved.join(', ')}` : '; nothing to move'}`);
  }
  if (loop.lastCycle?.outcome === 'failed') say(`   last cycle failed: ${loop.lastCycle.error ?? 'see the Temporal UI'}`);

  say('5. Webhook (receiver + workflow onDemandSync): a hot lead pushed to the CRM at once, the answer carrying its CRM id');
  const secret = crypto.randomBytes(24).toString('base64url');
  // The receiver as `webhook serve` runs it by default: the answer waits for the sync (wait mode).
  const server = createWebhookServer({
    secret,
    maxBodyBytes: 16_384,
    start: temporalSyncStarter(app.client, taskQueue, (line) => say(`   note: ${line}`)),
    wait: { ms: DEFAULT_WAIT_MS, result: temporalSyncAwaiter(app.client) },
  });
  const bound = await listen(server, 0, '127.0.0.1');
  let webhook: DemoReport['webhook'];
  try {
    let leadId = 0;
    if (emulator) {
      leadId = emulator.subscription.createLead({ email: `demo.hot.${run}@example.com`, firstName: 'Hot', lastName: 'Lead', title: 'CFO' }, 1, 'Web client');
    } else {
      leadId = Number((await app.store.pool.query<{ id: string }>('SELECT marketo_lead_id::text AS id FROM crm.contacts WHERE marketo_lead_id IS NOT NULL ORDER BY id LIMIT 1')).rows[0]?.id ?? 0);
    }
    const started = Date.now();
    const res = await fetch(`${bound.url}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': secret }, body: JSON.stringify({ leadId }) });
    const body = (await res.json()) as { status?: string; workflowId?: string; crmId?: string };
    const workflowId = body.workflowId ?? '';
    if (workflowId) ids.push(workflowId);
    // The run answers its status query; the CRM row is the proof that counts.
    let crmRow = false;
    for (let i = 0; i < 300 && !crmRow; i++) {
      const found = await app.store.pool.query('SELECT 1 FROM crm.leads WHERE marketo_lead_id = $1 UNION ALL SELECT 1 FROM crm.contacts WHERE marketo_lead_id = $1', [leadId]);
      crmRow = (found.rowCount ?? 0) > 0;
      if (!crmRow) await sleep(100);
    }
    webhook = { leadId, status: res.status, answer: body.status ?? '', workflowId, ...(body.crmId === undefined ? {} : { crmId: body.crmId }), crmRow, ms: Date.now() - started };
    if (workflowId) await app.client.workflow.getHandle(workflowId).query(onDemandStatusQuery).catch(() => undefined);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  say(
    `   lead ${webhook.leadId}: HTTP ${webhook.status}, workflow ${webhook.workflowId}, ${webhook.crmRow ? `in the CRM after ${webhook.ms} ms` : 'NOT in the CRM'} (answered ${webhook.answer}${webhook.crmId === undefined ? '' : `, CRM id ${webhook.crmId}`})`,
  );

  say('6. Reconciliation: every record of both sides compared field by field');
  const result: ReconcileResult = await reconcile({ marketo: app.marketo, crm: app.crm, store: app.store }, { since, ...(emulator ? { pollIntervalMs: 200 } : {}) });
  for (const e of result.entities) {
    say(`   ${e.entity.padEnd(16)} Marketo ${String(e.marketo).padStart(6)}  CRM ${String(e.crm).padStart(6)}  matched ${String(e.matched).padStart(6)}  ${e.ok ? 'ok' : 'DIFFERENT'}`);
    if (e.ok) continue;
    // Keys only (ids), never field values: `marketo-sync reconcile --show-values` is the operator's choice.
    const keys = (label: string, t: { count: number; sample: string[] }) => t.count > 0 && say(`      ${label} (${t.count}): ${t.sample.slice(0, 10).join(', ')}`);
    keys('missing in CRM', e.missingInCrm);
    keys('missing in Marketo', e.missingInMarketo);
    if (e.mismatched.count > 0) say(`      mismatched (${e.mismatched.count}): ${e.mismatched.sample.slice(0, 10).map((m) => `${m.key} [${m.fields.join(', ')}]`).join('; ')}`);
    if (e.duplicates.count > 0) say(`      duplicates (${e.duplicates.count}): ${e.duplicates.sample.slice(0, 10).map((d) => d.key).join(', ')}`);
  }

  const usage = app.marketo.usage();
  // This process's own calls (the shared limiter's day total would include other runs of today).
  const clientCalls = Object.values(usage.perEndpoint).reduce((n, c) => n + c, 0);
  const counted = emulator ? Object.values(emulator.runtime.stats.snapshot().endpoints).reduce((n, e) => n + e.counted, 0) : undefined;
  return {
    schema: { objects: schema.objects, fingerprint: schema.fingerprint },
    bootstrap: { highWatermark: progress.highWatermark, phases },
    changes,
    cycles,
    webhook,
    reconciliation: {
      ok: result.ok,
      differences: result.differences,
      apiCalls: result.apiCalls,
      entities: result.entities.map((e) => ({ entity: e.entity, marketo: e.marketo, crm: e.crm, matched: e.matched, ok: e.ok })),
    },
    apiCalls: { client: clientCalls, tokenRequests: usage.identityCalls, ...(counted === undefined ? {} : { emulatorCounted: counted }), dailyLimit: usage.dailyLimit },
    ui: app.services.temporalUiUrl ?? `(your Temporal server at ${app.services.temporalAddress})`,
    workflowIds: ids,
  };
}
