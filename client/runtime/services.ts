import path from 'node:path';
import type { AppConfig } from '../../src/config/env.js';
import { ensureLocalPostgres } from '../../src/services/local-postgres.js';
import { ensureTemporalDevServer } from '../../src/services/temporal-dev-server.js';
import { MARKETO_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import type { EmulatorOptions, RunningEmulator } from '../../emulator/index.js';

/** Where each service is, after starting the embedded defaults for whatever is not configured. */
export interface ResolvedServices {
  /** Empty when the command asked for no Temporal. */
  temporalAddress: string;
  temporalUiUrl?: string;
  databaseUrl: string;
  marketo: { baseUrl: string; clientId: string; clientSecret: string };
  emulator?: RunningEmulator;
  stop(): Promise<void>;
}

export interface ResolveOptions {
  /** Seed data for an embedded emulator. */
  emulatorSeed?: EmulatorOptions['seed'];
  /** An embedded emulator keeps its subscription in this file (the demo: DATA_DIR/emulator/state.json); the seed is used only when it is missing. */
  emulatorStateFile?: string;
  log?: (line: string) => void;
  /** Commands that only read the state store or Marketo (mapping, errors, usage) need no Temporal. */
  temporal?: boolean;
  /** Search attributes the embedded dev server registers at start (Name → Keyword, Int, ...). */
  searchAttributes?: Record<string, string>;
}

const EMBEDDED_CLIENT = { clientId: 'embedded-client-id', clientSecret: 'embedded-client-secret' };

/**
 * The embedded default: anything not configured runs locally under DATA_DIR — the Marketo
 * emulator (in this process), a Postgres cluster, and a Temporal dev server with its Web UI, both
 * keeping their state across restarts. Configured services are used as they are.
 */
export async function resolveServices(config: AppConfig, opts: ResolveOptions = {}): Promise<ResolvedServices> {
  const log = opts.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg = await ensureLocalPostgres({ dataDir: path.join(config.dataDir, 'postgres'), port: config.embedded.postgresPort, log });
      databaseUrl = pg.url;
      if (pg.startedHere) stops.push(() => pg.stop());
      log(`Postgres: ${pg.url} (data in ${pg.dataDir})`);
    }
    let temporalAddress = config.temporal.address ?? '';
    let temporalUiUrl: string | undefined;
    if (!temporalAddress && opts.temporal !== false) {
      const server = await ensureTemporalDevServer({
        dataDir: path.join(config.dataDir, 'temporal'),
        port: config.embedded.temporalPort,
        uiPort: config.embedded.temporalUiPort,
        namespace: config.temporal.namespace,
        // Registered at start so the sync workflows can upsert them (workflows/search-attributes.ts).
        searchAttributes: opts.searchAttributes ?? Object.fromEntries(MARKETO_SEARCH_ATTRIBUTES.map((a) => [a.name, 'Keyword'])),
        log,
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
      log(`Temporal: ${server.address}, Web UI ${server.uiUrl}`);
    }
    let marketo: ResolvedServices['marketo'];
    let emulator: RunningEmulator | undefined;
    if (config.marketo.kind === 'remote') {
      marketo = { baseUrl: config.marketo.baseUrl, clientId: config.marketo.clientId, clientSecret: config.marketo.clientSecret };
    } else {
      // Loaded only when embedded: commands against a real Marketo never pay for the emulator's modules.
      const { startEmulator } = await import('../../emulator/index.js');
      emulator = await startEmulator({ ...EMBEDDED_CLIENT, seed: opts.emulatorSeed, stateFile: opts.emulatorStateFile });
      // A subscription prepared for a CRM sync has a lead field holding the CRM id (the push's lookup field);
      // one loaded from a state file has it already.
      if (!emulator.subscription.leadField('crmId')) emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
      const running = emulator;
      stops.push(() => running.close());
      marketo = { baseUrl: emulator.url, ...EMBEDDED_CLIENT };
      log(`Marketo: emulator at ${emulator.url}`);
    }
    return {
      temporalAddress,
      temporalUiUrl,
      databaseUrl,
      marketo,
      emulator,
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
