import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import type { CrmConnector } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { MarketoClient, MarketoLogger, PostgresRateLimiter } from '../../src/marketo/index.js';
import type { SyncMetrics } from '../../src/observability/metrics.js';
import { StateStore } from '../../src/store/state-store.js';
import { createSyncWorker } from '../../workers/worker.js';
import { openMarketo } from './marketo.js';
import { connectTemporalClient, connectTemporalWorker } from './temporal-connection.js';
import { installTemporalLogging } from './temporal-logging.js';
import { resolveServices, type ResolveOptions, type ResolvedServices } from './services.js';

/** What a long-running command (worker, demo) holds open, closed in reverse by `close()`. */
export interface AppRuntime {
  config: AppConfig;
  services: ResolvedServices;
  store: StateStore;
  marketo: MarketoClient;
  /** The limiter shared by the deployment's processes (MARKETO_LIMITER=shared). */
  sharedLimiter?: PostgresRateLimiter;
  /** The CRM: the Postgres CRM in the service database (schema `crm`). */
  crm: CrmConnector;
  workerConnection: NativeConnection;
  client: Client;
  close(): Promise<void>;
}

export interface OpenAppOptions extends ResolveOptions {
  marketoLogger?: MarketoLogger;
  /** Runs once the services are up, before the stores open (and create or migrate their schemas). */
  prepare?: (services: ResolvedServices) => Promise<void>;
}

export async function openApp(opts: OpenAppOptions = {}, config: AppConfig = loadConfig()): Promise<AppRuntime> {
  installTemporalLogging();
  const services = await resolveServices(config, opts);
  const closers: (() => Promise<void>)[] = [() => services.stop()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    await opts.prepare?.(services);
    const store = await StateStore.open({ connectionString: services.databaseUrl });
    closers.push(() => store.close());
    const crm = await PostgresCrmConnector.open({ connectionString: services.databaseUrl });
    closers.push(() => crm.close());
    const opened = await openMarketo(config, services, store.pool, opts.marketoLogger);
    closers.push(() => opened.close());
    const marketo = opened.marketo;
    // TLS and API key only ever come with TEMPORAL_ADDRESS (env.ts): the embedded server gets plain gRPC.
    const workerConnection = await connectTemporalWorker(config.temporal, services.temporalAddress);
    closers.push(() => workerConnection.close());
    const connection = await connectTemporalClient(config.temporal, services.temporalAddress);
    closers.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    return { config, services, store, marketo, sharedLimiter: opened.shared, crm, workerConnection, client, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The sync worker on this runtime's task queue, with activities over its client and store. */
export function createAppWorker(app: AppRuntime, extra: { metrics?: SyncMetrics; log?: (line: string) => void } = {}): ReturnType<typeof createSyncWorker> {
  return createSyncWorker({
    ...extra,
    connection: app.workerConnection,
    namespace: app.config.temporal.namespace,
    taskQueue: app.config.temporal.taskQueue,
    deps: { marketo: app.marketo, store: app.store, crm: app.crm },
  });
}
