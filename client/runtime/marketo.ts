import type pg from 'pg';
import type { AppConfig } from '../../src/config/env.js';
import { MarketoClient, PostgresRateLimiter, type MarketoLogger } from '../../src/marketo/index.js';
import type { ResolvedServices } from './services.js';

export interface OpenedMarketo {
  marketo: MarketoClient;
  /** The limiter every process of the deployment shares (MARKETO_LIMITER=shared), for its day's counters. */
  shared?: PostgresRateLimiter;
  close(): Promise<void>;
}

/**
 * The Marketo client of a process. Marketo's limits belong to the subscription, so with the shared
 * limiter every process (workers, and CLI commands that call Marketo) spends from one budget.
 */
export async function openMarketo(config: AppConfig, services: ResolvedServices, pool: pg.Pool, logger?: MarketoLogger): Promise<OpenedMarketo> {
  const { callsPerWindow, windowMs, maxConcurrent, dailyCalls } = config.limits;
  const limits = { callsPerWindow, windowMs, maxConcurrent, dailyCalls };
  let shared: PostgresRateLimiter | undefined;
  if (config.limits.limiter === 'shared') {
    shared = await PostgresRateLimiter.create({ pool, key: new URL(services.marketo.baseUrl).host, limits });
  }
  const marketo = new MarketoClient({ ...services.marketo, limits, limiter: shared, logger });
  return { marketo, shared, close: async () => shared?.close() };
}
