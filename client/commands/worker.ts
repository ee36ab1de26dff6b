import type { Command } from 'commander';

/**
 * `marketo-sync worker`: runs the Temporal worker (workflows + activities) until SIGINT/SIGTERM,
 * with JSON logs on stderr and Prometheus metrics and a health check on METRICS_PORT (default 9464).
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a Temporal worker for the sync workflows, with /metrics and /healthz on METRICS_PORT (embedded services start when not configured)')
    .action(async () => {
      // Loaded here, not for every `marketo-sync` start or `--help` (client/cli.ts).
      const [{ createLogger, secretsFromEnv }, { loadMetricsServerConfig }] = await Promise.all([import('../../src/observability/logger.js'), import('../../src/observability/metrics-server.js')]);
      const metricsConfig = loadMetricsServerConfig();
      const log = createLogger({ service: 'worker', secrets: secretsFromEnv() });
      // The Temporal worker runtime loads only for this command, not for every `marketo-sync` start.
      const { createAppWorker, openApp } = await import('../runtime/app.js');
      const { createSyncMetrics } = await import('../../src/observability/metrics.js');
      const { startMetricsServer } = await import('../../src/observability/metrics-server.js');
      const { onStopSignals } = await import('../runtime/stop-signals.js');
      const app = await openApp({ log: (line) => log.info(line), marketoLogger: log.child({ component: 'marketo' }) });
      let server: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
      try {
        const shared = app.sharedLimiter;
        const metrics = await createSyncMetrics({
          pool: app.store.pool,
          schema: app.store.schema,
          processUsage: () => app.marketo.usage(),
          sharedUsage: shared ? () => shared.sharedUsage() : undefined,
        });
        const worker = await createAppWorker(app, { metrics, log: (line) => log.info(line) });
        if (metricsConfig.port !== 'off') {
          server = await startMetricsServer(metrics.registry, {
            port: metricsConfig.port,
            host: metricsConfig.host,
            healthy: () => ({ ok: worker.getState() === 'RUNNING', detail: { worker: worker.getState() } }),
          });
          log.info({ metrics: `${server.url}/metrics`, health: `${server.url}/healthz` }, 'metrics endpoint listening');
        }
        log.info({ taskQueue: app.config.temporal.taskQueue, temporal: app.services.temporalAddress, namespace: app.config.temporal.namespace }, 'worker polling');
        // The SDK shuts the worker down on SIGINT/SIGTERM; run() resolves once it has drained. Our own
        // listener keeps a second (relayed) signal from ending the process before that (stop-signals.ts).
        const stopListening = onStopSignals(
          () => {
            if (worker.getState() === 'RUNNING') worker.shutdown();
          },
          (line) => log.info(line),
        );
        try {
          await worker.run();
        } finally {
          stopListening();
        }
        log.info('worker stopped');
      } finally {
        await server?.close();
        await app.close();
      }
    });
}
