import { Worker, type NativeConnection } from '@temporalio/worker';
import { createBootstrapActivities } from '../../activities/bootstrap.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../emulator/index.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { MappingConfig } from '../../src/mapping/mapping-config.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { customObjectSchemas } from '../../activities/marketing-custom-objects.js';
import { workflowCode } from '../../workers/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { purchaseMappingEntity } from '../support/purchase-mapping.js';

/** Test-speed poll settings: the emulator's jobs finish in well under a second. */
export const FAST_POLL = { initialMs: 200, maxMs: 1_000, queueFullMs: 500 };

export interface MarketingHarness {
  emulator: RunningEmulator;
  marketo: MarketoClient;
  store: StateStore;
  crm: PostgresCrmConnector;
  db: TestDatabase;
  taskQueue: string;
  close(): Promise<void>;
}

/** Emulator + Postgres (state store and CRM) + Marketo client, and no worker yet. */
export async function startMarketingServices(emulator: EmulatorOptions): Promise<Omit<MarketingHarness, 'taskQueue'>> {
  const em = await startEmulator({ clientId: 'test-id', clientSecret: 'test-secret', ...emulator });
  const db = await createTestDatabase('mkt');
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  const marketo = new MarketoClient({ baseUrl: em.url, clientId: 'test-id', clientSecret: 'test-secret' });
  return {
    emulator: em,
    marketo,
    store,
    crm,
    db,
    close: async () => {
      await store.close();
      await crm.close();
      await db.drop();
      await em.close();
    },
  };
}

/**
 * Services plus a worker with the bootstrap workflows and only the bootstrap activities (which
 * include the marketing activities and sinks): what the marketing phases run on.
 */
export async function startMarketingHarness(connection: NativeConnection, emulator: EmulatorOptions): Promise<MarketingHarness> {
  const services = await startMarketingServices(emulator);
  const deps = { marketo: services.marketo, store: services.store, crm: services.crm };
  const taskQueue = `marketing-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    ...workflowCode(),
    activities: createBootstrapActivities(deps),
  });
  const running = worker.run();
  return {
    ...services,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await services.close();
    },
  };
}

/**
 * Saves the suggested mapping plus the seeded custom object `purchase_c` → `custom:purchase`
 * (whose table the custom objects phase provisions).
 */
export async function saveMappingWithPurchases(h: Pick<MarketingHarness, 'marketo' | 'crm' | 'store'>): Promise<void> {
  const { schemas } = await customObjectSchemas(h.marketo, ['purchase_c']);
  const config = suggestMapping(schemas, await h.crm.describe());
  config.entities.push(purchaseMappingEntity());
  await h.store.mappings.save(MappingConfig.parse(config), { author: 'test' });
}
