import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS, WEBHOOK_PATH } from '../webhook/limits.js';
import type { WebhookRequestLog } from '../webhook/server.js';

// The receiver, its configuration, the logger and the Temporal SDK load inside the action: the
// CLI's other commands and `--help` do not pay for them.

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

/** The log line's message: rejections and answers that could not wait for the sync are warnings. */
function logMessage(entry: WebhookRequestLog): { level: 'info' | 'warn'; message: string } {
  if (entry.status >= 400) return { level: 'warn', message: 'webhook rejected' };
  if (entry.outcome === 'pending') return { level: 'warn', message: `webhook answered queued before the sync finished (${entry.pending ?? 'unknown'})` };
  return { level: 'info', message: 'webhook' };
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
    .option(
      '--wait <ms>',
      `wait up to <ms> for the sync and answer its outcome and CRM id, else 202 queued (default WEBHOOK_WAIT_MS or ${DEFAULT_WAIT_MS}; 0: answer as soon as Temporal accepted; at most ${MAX_WAIT_MS})`,
      waitMs,
    )
    .action(async (opts: ServeOptions) => {
      const [{ Client }, { loadConfig }, { createLogger, secretsFromEnv }, { loadWebhookConfig }, { createWebhookServer, listen }, { connectTemporalClient }, { temporalSyncAwaiter, temporalSyncStarter }] =
        await Promise.all([
          import('@temporalio/client'),
          import('../../src/config/env.js'),
          import('../../src/observability/logger.js'),
          import('../webhook/config.js'),
          import('../webhook/server.js'),
          import('../runtime/temporal-connection.js'),
          import('../webhook/temporal-starter.js'),
        ]);
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
          onRequest: (entry) => {
            const { level, message } = logMessage(entry);
            log[level](entry, message);
          },
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
