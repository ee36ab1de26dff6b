import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { z } from 'zod';

export const MetricsServerConfig = z.object({
  /** Port of `/metrics` and `/healthz`; 0 picks a free one; `off` (METRICS_PORT=off) runs none. */
  port: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).default(9464),
  /** Bind address; 0.0.0.0 in a container so Prometheus can reach it. */
  host: z.string().min(1).default('127.0.0.1'),
});
export type MetricsServerConfig = z.output<typeof MetricsServerConfig>;

/** METRICS_PORT / METRICS_HOST, validated (a wrong value names the variable). */
export function loadMetricsServerConfig(env: NodeJS.ProcessEnv = process.env): MetricsServerConfig {
  const parsed = MetricsServerConfig.safeParse({ port: env.METRICS_PORT || undefined, host: env.METRICS_HOST || undefined });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path[0] === 'port' ? 'METRICS_PORT' : 'METRICS_HOST'}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` (Prometheus text format) and `GET /healthz` (200 while `healthy()` holds, else
 * 503: what container health checks and load balancers ask).
 */
export async function startMetricsServer(registry: Registry, opts: { port: number; host: string; healthy?: () => { ok: boolean; detail?: unknown } }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const h = opts.healthy?.() ?? { ok: true };
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: h.ok, ...(h.detail === undefined ? {} : { detail: h.detail }) }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
