import { InvalidArgumentError, type Command } from 'commander';
import { schemaRefresh } from '../../workflows/index.js';
import { createAppWorker, openApp } from '../runtime/app.js';

interface DemoOptions {
  leads: number;
  keepRunning?: boolean;
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) === 0) throw new InvalidArgumentError('must be a positive integer');
  return Number(v);
}

/**
 * `marketo-sync demo` (and `npm start`): the whole stack on the embedded default — Postgres, the
 * Temporal dev server with its Web UI, a seeded Marketo emulator and a worker — running the
 * product's workflows end to end and reporting what they did and what it cost in API calls.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the product end to end on the embedded default (no configuration needed)')
    .option('--leads <n>', 'leads in the seeded emulator', positiveInt, 2000)
    .option('--keep-running', 'leave the worker, emulator and Temporal UI up after the run (Ctrl-C to stop)')
    .action(async (opts: DemoOptions) => {
      const log = (line: string) => console.log(`  ${line}`);
      console.log('Starting services');
      const app = await openApp({ emulatorSeed: { leads: opts.leads }, log });
      let running: Promise<void> | undefined;
      try {
        const worker = await createAppWorker(app);
        running = worker.run();

        console.log('Refreshing the Marketo schema (workflow schemaRefresh)');
        const workflowId = `schema-refresh-demo-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        const summary = await app.client.workflow.execute(schemaRefresh, { taskQueue: app.config.temporal.taskQueue, workflowId });
        for (const o of summary.objects) log(`${o.object.padEnd(28)} ${String(o.fields).padStart(4)} fields`);
        log(`schema fingerprint ${summary.fingerprint.slice(0, 16)}…`);

        const usage = app.marketo.usage();
        console.log('API usage');
        log(`calls made by the client today: ${usage.dailyCalls} of ${usage.dailyLimit} (${usage.identityCalls} token requests, not counted by Marketo)`);
        if (app.services.emulator) {
          const counted = Object.values(app.services.emulator.runtime.stats.snapshot().endpoints).reduce((n, e) => n + e.counted, 0);
          log(`calls the emulated Marketo counted against its quota: ${counted}`);
        }
        console.log(`Temporal Web UI: ${app.services.temporalUiUrl ?? `(your server at ${app.services.temporalAddress})`} — workflow ${workflowId}`);

        if (opts.keepRunning) {
          console.log('Services keep running; press Ctrl-C to stop.');
          await running;
        } else {
          worker.shutdown();
          await running;
        }
      } finally {
        await app.close();
      }
    });
}
