/**
 * Endpoint labels as operators read them: one series per endpoint, not per bulk job. The client
 * labels numeric path ids `{id}`, but a bulk export's id is a UUID and its status and enqueue calls
 * arrive as `GET /bulk/v1/leads/export/<uuid>/status.json`: a new label for every export, which
 * grows Prometheus series (and the usage report) without bound over a bootstrap.
 */
const UUID_SEGMENT = /\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=[/.?]|$)/gi;

export function endpointFamily(endpoint: string): string {
  return endpoint.replace(UUID_SEGMENT, '/{exportId}');
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
