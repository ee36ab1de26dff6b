import type { Command } from 'commander';
import { z } from 'zod';
import { ExitCode } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import type { DemoReport } from '../runtime/demo.js';

const optionsSchema = z.object({
  leads: z.coerce.number().int().positive().max(1_000_000).default(2000),
  cycles: z.coerce.number().int().min(1).max(20).default(2),
  keepRunning: z.boolean().default(false),
  json: z.boolean().default(false),
});

function summary(r: DemoReport): string {
  const moved = new Map<string, number>();
  for (const c of r.cycles) for (const x of c.records) moved.set(`${x.entity} ${x.direction}`, (moved.get(`${x.entity} ${x.direction}`) ?? 0) + x.created + x.updated + x.deleted);
  const bootstrapped = Object.entries(r.bootstrap.phases).map(([name, p]) => `${name} ${p.written}`).join(', ');
  const cycleMoves = [...moved].filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing';
  return [
    '',
    'Summary',
    `  moved by the bootstrap: ${bootstrapped}`,
    `  moved by ${r.cycles.length} sync cycles: ${cycleMoves}`,
    `  webhook: lead ${r.webhook.leadId} ${r.webhook.crmRow ? `in the CRM ${r.webhook.ms} ms after the call` : 'did not reach the CRM'}`,
    `  API calls made by the client: ${r.apiCalls.client} of ${r.apiCalls.dailyLimit} a day (${r.apiCalls.tokenRequests} token requests, not counted by Marketo)`,
    ...(r.apiCalls.emulatorCounted === undefined ? [] : [`  calls the emulated Marketo counted against its quota: ${r.apiCalls.emulatorCounted}`]),
    `  reconciliation: ${r.reconciliation.ok ? 'zero differences' : `${r.reconciliation.differences} difference(s)`} (${r.reconciliation.entities.map((e) => `${e.entity} ${e.matched} matched`).join(', ')})`,
    `Temporal Web UI: ${r.ui} (workflows ${r.workflowIds.join(', ')})`,
  ].join('\n');
}

/**
 * `marketo-sync demo` (and `npm start`): the whole stack on the embedded default — Postgres, the
 * Temporal dev server with its Web UI, a seeded Marketo emulator and a worker — running the
 * product end to end. Exit code 3 when the reconciliation finds differences.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the product end to end on the embedded default: bootstrap, changes on both sides, sync cycles, a webhook, reconciliation')
    .option('--leads <n>', 'leads in the seeded emulator (default 2000)')
    .option('--cycles <n>', 'sync cycles to run (default 2)')
    .option('--keep-running', 'leave the worker, emulator and Temporal UI up after the run (Ctrl-C to stop)')
    .option('--json', 'print the report as JSON at the end (the story goes to stderr)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(optionsSchema, raw);
      const say = (line: string) => (opts.json ? console.error(line) : console.log(line));
      const { createAppWorker, openApp } = await import('../runtime/app.js');
      const { runDemo } = await import('../runtime/demo.js');
      say('Starting services (embedded wherever nothing is configured)');
      const app = await openApp({ emulatorSeed: { leads: opts.leads }, log: (line) => say(`   ${line}`) });
      let running: Promise<void> | undefined;
      let worker: Awaited<ReturnType<typeof createAppWorker>> | undefined;
      try {
        worker = await createAppWorker(app, { log: (line) => say(`   ${line}`) });
        running = worker.run();
        // Ctrl-C / SIGTERM make the SDK drain the worker; the story then stops instead of waiting on
        // workflows nobody will run.
        const stopped = running.then(() => {
          throw new Error('interrupted: the worker shut down before the demo finished (state is kept under DATA_DIR)');
        });
        stopped.catch(() => undefined); // after a finished demo, the worker's shutdown is not an error
        const report = await Promise.race([runDemo(app, { cycles: opts.cycles, say }), stopped]);
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else say(summary(report));
        if (!report.reconciliation.ok || !report.webhook.crmRow) process.exitCode = ExitCode.notHealthy;
        if (opts.keepRunning) {
          say('Services keep running; press Ctrl-C to stop.');
          await running;
        }
      } finally {
        if (worker && worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await app.close();
      }
    });
}
