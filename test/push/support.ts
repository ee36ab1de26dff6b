import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { CrmRecord } from '../../src/crm/connector.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { createPushActivities, type PushActivities } from '../../activities/push.js';
import type { PushOptionsInput } from '../../src/sync/push/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The push's real surroundings: the emulator as Marketo (with the custom `crmId` lead field the
 * mapping uses as lookup field), a Postgres CRM written by a CRM user, the sync's own connector
 * and state store, and the push activities as the worker registers them.
 */
export interface PushHarness {
  emulator: RunningEmulator;
  marketo: MarketoClient;
  store: StateStore;
  /** The CRM as its users change it (origin 'user': what the push must carry to Marketo). */
  user: PushCrm;
  /** The sync's connector (origin 'sync': its writes must not come back). */
  crm: PostgresCrmConnector;
  activities: PushActivities;
  db: TestDatabase;
  /** Calls the emulator counted so far, per endpoint label. */
  calls(): Record<string, number>;
  close(): Promise<void>;
}

export interface PushCrm {
  connector: PostgresCrmConnector;
  insert(entity: string, records: CrmRecord[]): Promise<string[]>;
  update(entity: string, records: CrmRecord[]): Promise<void>;
  remove(entity: string, ids: string[]): Promise<void>;
}

export async function startPushHarness(pushOptions: PushOptionsInput = {}): Promise<PushHarness> {
  // Imports finish as fast as the emulator can process them: tests wait on polls, not on a pace.
  const emulator = await startEmulator({ clientId: 'push-id', clientSecret: 'push-secret', bulk: { import: { rowsPerSecond: 0 } } });
  emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const db = await createTestDatabase('push');
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  const userConnector = await PostgresCrmConnector.open({ connectionString: db.url, writeOrigin: 'user' });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'push-id', clientSecret: 'push-secret' });
  const activities = createPushActivities({ marketo, store, crm, pushOptions: { bulkPollIntervalMs: 20, ...pushOptions } });
  const user: PushCrm = {
    connector: userConnector,
    async insert(entity, records) {
      const results = await userConnector.upsert(entity, records, { keyField: 'id' });
      return results.map((r) => {
        if (r.status === 'failed') throw new Error(`test fixture insert into ${entity} failed: ${r.code} ${r.reason}`);
        return r.id;
      });
    },
    async update(entity, records) {
      const results = await userConnector.upsert(entity, records, { keyField: 'id', updateOnly: true });
      for (const r of results) if (r.status === 'failed') throw new Error(`test fixture update of ${entity} failed: ${r.code} ${r.reason}`);
    },
    async remove(entity, ids) {
      for (const r of await userConnector.delete(entity, ids)) if (r.status === 'failed') throw new Error(`test fixture delete failed: ${r.code}`);
    },
  };
  return {
    emulator,
    marketo,
    store,
    user,
    crm,
    activities,
    db,
    calls: () => Object.fromEntries(Object.entries(emulator.runtime.stats.snapshot().endpoints).map(([k, v]) => [k, v.calls])),
    close: async () => {
      await store.close();
      await crm.close();
      await userConnector.close();
      await db.drop();
      await emulator.close();
    },
  };
}

/** Calls made between two snapshots, per endpoint (only endpoints that were called). */
export function callsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
