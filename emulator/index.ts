import type { AddressInfo } from 'node:net';
import { TokenIssuer } from './auth.js';
import { bulkRoutes } from './bulk/routes.js';
import { closeBulk, configureBulk } from './bulk/service.js';
import { Clock } from './clock.js';
import { FaultInjector } from './faults.js';
import type { Route } from './http/route.js';
import { startHttpServer, type Runtime } from './http/server.js';
import { Limiter } from './limits.js';
import { EmulatorOptions, type ResolvedEmulatorOptions } from './options.js';
import { activityRoutes } from './routes/activities.js';
import { adminRoutes } from './routes/admin.js';
import { assetRoutes } from './routes/asset.js';
import { identityHandler } from './routes/identity.js';
import { leadRoutes } from './routes/leads.js';
import { listRoutes } from './routes/lists.js';
import { objectRoutes } from './routes/objects.js';
import { schemaFieldRoutes } from './routes/schema-fields.js';
import { statsRoutes } from './routes/stats.js';
import { seedSubscription, type SeedSummary } from './seed.js';
import { CallStats } from './stats.js';
import { Subscription } from './subscription.js';
import { applyState, bulkDirOf, readStateFile, StatePersistence } from './state-file.js';

export { EmulatorOptions } from './options.js';
export type { ResolvedEmulatorOptions } from './options.js';
export { Subscription } from './subscription.js';
export type { FaultRuleInput } from './faults.js';
export { StateFileError } from './state-file.js';

export interface RunningEmulator {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:43121. */
  url: string;
  port: number;
  subscription: Subscription;
  /** Limiter, faults, tokens, clock and counters of this instance (in-process test control). */
  runtime: Runtime;
  /** Every route served (Marketo paths), for the conformance test and docs. */
  routes: Route[];
  seedSummary?: SeedSummary;
  /** With `stateFile`: the saver (its `stats` give the save count and cost). */
  persistence?: StatePersistence;
  close(): Promise<void>;
}

/** The whole route table: lead database, objects, activities, lists, asset, stats, bulk. */
export const routeTable: Route[] = [
  ...leadRoutes,
  ...objectRoutes,
  ...schemaFieldRoutes,
  ...activityRoutes,
  ...listRoutes,
  ...assetRoutes,
  ...statsRoutes,
  ...bulkRoutes,
];

/** Starts a Marketo emulator on host:port (port 0 = a free port) with an in-memory subscription. */
export async function startEmulator(input: EmulatorOptions = {}): Promise<RunningEmulator> {
  const options: ResolvedEmulatorOptions = EmulatorOptions.parse(input);
  const clock = new Clock(options.now ?? Date.now);
  const subscription = new Subscription(clock);
  const rt: Runtime = {
    options, clock, subscription,
    tokens: new TokenIssuer(clock, options.tokenTtlSeconds, options.tokenSuffix),
    limiter: new Limiter(clock, options.limits),
    faults: new FaultInjector(options.faults, options.faultSeed),
    stats: new CallStats(),
    paramReads: new Map(),
  };
  let seedSummary: SeedSummary | undefined;
  let persistence: StatePersistence | undefined;
  if (options.stateFile !== undefined) {
    const saved = await readStateFile(options.stateFile);
    if (!saved && options.seed) seedSummary = seedSubscription(subscription, options.seed);
    const bulk = await configureBulk(subscription, options.bulk, bulkDirOf(options.stateFile));
    if (saved) applyState(saved, { subscription, limiter: rt.limiter, stats: rt.stats, bulk }, options.stateFile);
    persistence = new StatePersistence(options.stateFile, { subscription, limiter: rt.limiter, stats: rt.stats, bulk }, saved !== undefined);
    // A new subscription is on disk before the first call can see it.
    await persistence.commit();
    rt.persistence = persistence;
  } else {
    seedSummary = options.seed ? seedSubscription(subscription, options.seed) : undefined;
    await configureBulk(subscription, options.bulk);
  }
  const routes = routeTable;
  const server = startHttpServer(rt, routes, adminRoutes, identityHandler);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`, port, subscription, runtime: rt, routes, seedSummary,
    persistence,
    close: async () => {
      // Saved before bulk work is stopped: a job cut short by the close restarts with the next start.
      await persistence?.close();
      await closeBulk(subscription);
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
