import { loadConfig, type AppConfig } from '../../src/config/env.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { MarketoClient, PostgresRateLimiter } from '../../src/marketo/index.js';
import { StateStore } from '../../src/store/state-store.js';
import { openMarketo } from './marketo.js';
import { resolveServices, type ResolvedServices } from './services.js';

/** What a short operator command (mapping, errors, usage) holds: no Temporal, no worker. */
export interface ToolRuntime {
  config: AppConfig;
  services: ResolvedServices;
  store: StateStore;
  crm: PostgresCrmConnector;
  marketo: MarketoClient;
  sharedLimiter?: PostgresRateLimiter;
  close(): Promise<void>;
}

/**
 * Opens the state store, the CRM and the Marketo client on the configured services (embedded
 * Postgres and emulator when unset). Service lines go to stderr so `--json` stdout stays clean.
 */
export async function openTools(config: AppConfig = loadConfig()): Promise<ToolRuntime> {
  const services = await resolveServices(config, { temporal: false, log: (line) => console.error(line) });
  const closers: (() => Promise<void>)[] = [() => services.stop()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const store = await StateStore.open({ connectionString: services.databaseUrl });
    closers.push(() => store.close());
    const crm = await PostgresCrmConnector.open({ connectionString: services.databaseUrl });
    closers.push(() => crm.close());
    const opened = await openMarketo(config, services, store.pool);
    closers.push(() => opened.close());
    return { config, services, store, crm, marketo: opened.marketo, sharedLimiter: opened.shared, close };
  } catch (err) {
    await close();
    throw err;
  }
}
