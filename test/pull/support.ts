import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { CrmRecord } from '../../src/crm/connector.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { createPullActivities, type PullActivities } from '../../activities/pull.js';
import { createPushActivities, type PushActivities } from '../../activities/push.js';
import { LEADS_STREAM, type PullOptionsInput } from '../../src/sync/pull/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The pull's real surroundings: the emulator as Marketo (custom `crmId` lead field as the push's
 * lookup field; its admin "user" edits, merges and deletes log activities as Marketo does), a
 * Postgres CRM, the sync's connector and state store, and both halves of the cycle as the worker
 * registers them. The `marketo:leads` watermark starts where the bootstrap would leave it.
 */
export interface PullHarness {
  emulator: RunningEmulator;
  marketo: MarketoClient;
  store: StateStore;
  crm: PostgresCrmConnector;
  /** The CRM as its users change it (origin 'user'). */
  user: PostgresCrmConnector;
  pull: PullActivities;
  push: PushActivities;
  db: TestDatabase;
  /** Emulator "now" as a Date; `shift` moves the pull's view of the present (retention tests). */
  now(): Date;
  shiftMs: number;
  calls(): Record<string, number>;
  /** A Marketo user creates a lead (New Lead with source 'Web client'); returns its id. */
  createLead(values: Record<string, string | number | boolean | null>, atSeconds?: number): number;
  insert(entity: string, records: CrmRecord[]): Promise<string[]>;
  update(entity: string, records: CrmRecord[]): Promise<void>;
  /** The CRM person holding a Marketo lead id (lead or contact), if any. */
  person(marketoId: number): Promise<{ type: 'lead' | 'contact'; record: CrmRecord } | undefined>;
  /** Runs steps 4–7 in the seed's order; returns their summaries. */
  cycle(): Promise<Awaited<ReturnType<PullActivities['pullLeadsAndCompanies']>>[]>;
  /** Steps 1–3 (push) then 4–7 (pull), as the sync loop runs them; returns the pull's summaries. */
  fullCycle(): ReturnType<PullHarness['cycle']>;
  close(): Promise<void>;
}

export async function startPullHarness(pullOptions: PullOptionsInput = {}): Promise<PullHarness> {
  const emulator = await startEmulator({ clientId: 'pull-id', clientSecret: 'pull-secret', bulk: { export: { rowsPerSecond: 0 }, import: { rowsPerSecond: 0 } } });
  emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const db = await createTestDatabase('pull');
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  const user = await PostgresCrmConnector.open({ connectionString: db.url, writeOrigin: 'user' });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'pull-id', clientSecret: 'pull-secret' });
  const h: PullHarness = {
    emulator,
    marketo,
    store,
    crm,
    user,
    db,
    shiftMs: 0,
    pull: undefined as unknown as PullActivities,
    push: createPushActivities({ marketo, store, crm, pushOptions: { bulkPollIntervalMs: 20 } }),
    now: () => new Date(emulator.runtime.clock.now()),
    calls: () => Object.fromEntries(Object.entries(emulator.runtime.stats.snapshot().endpoints).map(([k, v]) => [k, v.calls])),
    createLead: (values, atSeconds) => emulator.subscription.createLead(values, 1, 'Web client', atSeconds ?? emulator.runtime.clock.nowSeconds()),
    async insert(entity, records) {
      return (await user.upsert(entity, records, { keyField: 'id' })).map((r) => {
        if (r.status === 'failed') throw new Error(`fixture insert into ${entity} failed: ${r.code} ${r.reason}`);
        return r.id;
      });
    },
    async update(entity, records) {
      for (const r of await user.upsert(entity, records, { keyField: 'id', updateOnly: true })) if (r.status === 'failed') throw new Error(`fixture update failed: ${r.code} ${r.reason}`);
    },
    async person(marketoId) {
      for (const type of ['lead', 'contact'] as const) {
        const { rows } = await store.pool.query<{ rec: CrmRecord }>(`SELECT to_jsonb(t) AS rec FROM crm.${type}s t WHERE marketo_lead_id = $1`, [marketoId]);
        if (rows[0]) return { type, record: rows[0].rec };
      }
      return undefined;
    },
    async cycle() {
      return [await h.pull.pullLeadsAndCompanies(), await h.pull.pullMergesAndDeletes(), await h.pull.pullActivities(), await h.pull.deleteLeadsInCrm()];
    },
    async fullCycle() {
      await h.push.pushSalesPersons();
      await h.push.pushCompanies();
      await h.push.pushLeads();
      return h.cycle();
    },
    close: async () => {
      await store.close();
      await crm.close();
      await user.close();
      await db.drop();
      await emulator.close();
    },
  };
  h.pull = createPullActivities({ marketo, store, crm, pullOptions: { bulkPollIntervalMs: 20, ...pullOptions }, now: () => new Date(h.now().getTime() + h.shiftMs) });
  // Where the bootstrap leaves the loop: its high watermark, a second before anything below happens.
  await store.watermarks.set(LEADS_STREAM, { watermark: new Date((emulator.runtime.clock.nowSeconds() - 1) * 1000) });
  return h;
}

/** Calls made between two snapshots, per endpoint (only endpoints that were called). */
export function callsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

export function total(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0);
}
