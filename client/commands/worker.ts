import type { Command } from 'commander';

/** `marketo-sync worker`: runs the Temporal worker (workflows + activities) until SIGINT/SIGTERM. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a Temporal worker for the sync workflows (embedded services start when not configured)')
    .action(async () => {
      // The Temporal worker runtime loads only for this command, not for every `marketo-sync` start.
      const { createAppWorker, openApp } = await import('../runtime/app.js');
      const app = await openApp({ log: (line) => console.error(line) });
      try {
        const worker = await createAppWorker(app);
        console.error(`worker polling task queue '${app.config.temporal.taskQueue}' on ${app.services.temporalAddress}`);
        // The SDK shuts the worker down on SIGINT/SIGTERM; run() resolves once it has drained.
        await worker.run();
      } finally {
        await app.close();
      }
    });
}
