import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../src/config/env.js';
import { createLogger, secretsFromEnv } from '../../src/observability/logger.js';
import { loadWebhookConfig, MAX_WAIT_MS } from '../webhook/config.js';
import { createWebhookServer, listen, WEBHOOK_PATH } from '../webhook/server.js';

interface ServeOptions {
  port?: number;
  host?: string;
  wait?: number;
}

function waitMs(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > MAX_WAIT_MS) throw new InvalidArgumentError(`must be milliseconds from 0 to ${MAX_WAIT_MS}`);
  return Number(v);
}

function port(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(v);
}

/**
 * `marketo-sync webhook serve`: the receiver for Marketo's "Call Webhook" flow step. It needs only
 * Temporal (TEMPORAL_ADDRESS, or the embedded dev server a `marketo-sync worker` started); the
 * worker does the Marketo read and the CRM write. docs/webhook.md has the Marketo Admin setup.
 */
export function registerWebhookCommand(program: Command): void {
  const webhook = program.command('webhook').description('on-demand sync of single leads, triggered by Marketo webhooks');
  webhook
    .command('serve')
    .description(`receive Marketo webhooks on POST ${WEBHOOK_PATH} and start an onDemandSync workflow per lead`)
    .option('--port <port>', 'port to listen on (default WEBHOOK_PORT or 8787; 0 picks a free one)', port)
    .option('--host <host>', 'address to bind (default WEBHOOK_HOST or 127.0.0.1)')
    .option('--wait <ms>', `wait up to <ms> for the sync and answer its outcome and CRM id (default WEBHOOK_WAIT_MS or 0: answer once queued; at most ${MAX_WAIT_MS})`, waitMs)
    .action(async (opts: ServeOptions) => {
      const { Client } = await import('@temporalio/client');
      const { connectTemporalClient } = await import('../runtime/temporal-connection.js');
      const { temporalSyncAwaiter, temporalSyncStarter } = await import('../webhook/temporal-starter.js');
      const hook = loadWebhookConfig();
      const config = loadConfig();
      const log = createLogger({ service: 'webhook', secrets: secretsFromEnv() });
      const address = config.temporal.address ?? `127.0.0.1:${config.embedded.temporalPort}`;
      const connection = await connectTemporalClient(config.temporal, address).catch((err: unknown) => {
        throw new Error(`cannot reach Temporal at ${address} (${(err as Error).message}); set TEMPORAL_ADDRESS or start 'marketo-sync worker' first`);
      });
      try {
        const client = new Client({ connection, namespace: config.temporal.namespace });
        const wait = opts.wait ?? hook.waitMs;
        const server = createWebhookServer({
          ...(wait > 0 ? { wait: { ms: wait, result: temporalSyncAwaiter(client) } } : {}),
          secret: hook.secret,
          maxBodyBytes: hook.maxBodyBytes,
          start: temporalSyncStarter(client, config.temporal.taskQueue, (line) => log.warn(line)),
          onRequest: (entry) => (entry.status >= 400 ? log.warn(entry, 'webhook rejected') : log.info(entry, 'webhook')),
        });
        const bound = await listen(server, opts.port ?? hook.port, opts.host ?? hook.host);
        console.log(
          `webhook receiver listening on ${bound.url}${WEBHOOK_PATH} (Temporal ${address}, task queue '${config.temporal.taskQueue}'; ${wait > 0 ? `answers wait up to ${wait} ms for the sync` : 'answers once queued'})`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            // Requests in flight finish; keep-alive connections are closed so close() can return.
            server.close(() => resolve());
            server.closeIdleConnections();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        console.log('webhook receiver stopped');
      } finally {
        await connection.close();
      }
    });
}
