import { readFileSync } from 'node:fs';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import type { AppConfig } from '../../src/config/env.js';

type TemporalConfig = AppConfig['temporal'];

/** What both kinds of connection take: the address, TLS (mTLS files read here) and the API key. */
export interface TemporalConnectionSettings {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
}

function read(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path} (${(err as Error).message})`);
  }
}

/**
 * The connection settings for `address` from the validated configuration (src/config/env.ts):
 * plain gRPC for the embedded dev server; TLS, an mTLS client pair or an API key for Temporal
 * Cloud and secured servers. Cloud routes API-key requests by the `temporal-namespace` header.
 */
export function temporalConnectionSettings(config: TemporalConfig, address: string): TemporalConnectionSettings {
  const { tls, apiKey } = config.auth;
  const settings: TemporalConnectionSettings = { address };
  if (tls) {
    const out: TLSConfig = {};
    if (tls.certPath && tls.keyPath) out.clientCertPair = { crt: read(tls.certPath, 'TEMPORAL_TLS_CERT_PATH'), key: read(tls.keyPath, 'TEMPORAL_TLS_KEY_PATH') };
    if (tls.caPath) out.serverRootCACertificate = read(tls.caPath, 'TEMPORAL_TLS_CA_PATH');
    if (tls.serverName) out.serverNameOverride = tls.serverName;
    settings.tls = out;
  }
  if (apiKey) {
    settings.apiKey = apiKey;
    settings.metadata = { 'temporal-namespace': config.namespace };
  }
  return settings;
}

/** A client connection (workflow starts, signals, queries). */
export function connectTemporalClient(config: TemporalConfig, address: string, extra: Pick<ConnectionOptions, 'connectTimeout'> = {}): Promise<Connection> {
  return Connection.connect({ ...temporalConnectionSettings(config, address), ...extra });
}

/** A worker connection (loaded lazily: commands without a worker never load the native bridge). */
export async function connectTemporalWorker(config: TemporalConfig, address: string): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  const options: NativeConnectionOptions = temporalConnectionSettings(config, address);
  return NativeConnection.connect(options);
}
