import { foldJobIds } from '../marketo/http.js';

/**
 * Endpoint labels as operators read them: one series per endpoint, not per bulk job. The client
 * folds job ids into its labels itself (src/marketo/http.ts `foldJobIds`); counts a shared limiter
 * recorded before it did (`GET /bulk/v1/leads/export/<uuid>/status.json`, a label per export) are
 * folded the same way here, so the day's totals still land on one series.
 */
export function endpointFamily(endpoint: string): string {
  return foldJobIds(endpoint);
}

/** Per-endpoint counts with the calls of every job id added into their endpoint's one entry. */
export function countsByEndpointFamily(perEndpoint: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [endpoint, n] of Object.entries(perEndpoint)) {
    const family = endpointFamily(endpoint);
    out[family] = (out[family] ?? 0) + n;
  }
  return out;
}

/** Calls in a per-endpoint tally. */
export function totalCalls(perEndpoint: Readonly<Record<string, number>>): number {
  return Object.values(perEndpoint).reduce((a, b) => a + b, 0);
}
