import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { z } from 'zod';
import { ExitCode } from '../output/exit-codes.js';
import { reportFailure } from '../output/run.js';
import { onStopSignals } from '../runtime/stop-signals.js';
import { parseOptions } from '../output/options.js';
import type { DemoReport } from '../runtime/demo.js';

const optionsSchema = z.object({
  leads: z.coerce.number().int().positive().max(1_000_000).default(2000),
  cycles: z.coerce.number().int().min(1).max(20).default(2),
  keepRunning: z.boolean().default(false),
  fresh: z.boolean().default(false),
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
function ignoreClosedChannel(err: Error): void {
  if (err?.message === 'Channel has been shut down') return;
  process.exit(reportFailure('marketo-sync', err, false));
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the product end to end on the embedded default: bootstrap, changes on both sides, sync cycles, a webhook, reconciliation')
    .option('--leads <n>', 'leads in the seeded emulator (default 2000)')
    .option('--cycles <n>', 'sync cycles to run (default 2)')
    .option('--fresh', 'start a new story: a newly seeded emulator, the CRM and sync state of the last demo cleared, its open workflows terminated (default: resume)')
    .option('--keep-running', 'leave the worker, emulator and Temporal UI up after the run (Ctrl-C to stop)')
    .option('--json', 'print the report as JSON at the end (the story goes to stderr)')
    .action(async (raw: unknown) => {
      const opts = parseOptions(optionsSchema, raw);
      const say = (line: string) => (opts.json ? console.error(line) : console.log(line));
      const [{ createAppWorker, openApp }, { runDemo }, { loadConfig }, fresh] = await Promise.all([
        import('../runtime/app.js'),
        import('../runtime/demo.js'),
        import('../../src/config/env.js'),
        import('../runtime/demo-fresh-start.js'),
      ]);
      const config = loadConfig();
      // The embedded emulator keeps its subscription under DATA_DIR: a start resumes the last demo
      // unless asked for a new story, or unless there is no emulator state to resume from.
      const embedded = config.marketo.kind !== 'remote';
      if (embedded && opts.fresh) fresh.removeDemoEmulatorState(config.dataDir);
      const resuming = embedded && fresh.hasDemoEmulatorState(config.dataDir);
      say('Starting services (embedded wherever nothing is configured)');
      const app = await openApp(
        {
          emulatorSeed: { leads: opts.leads },
          ...(embedded ? { emulatorStateFile: fresh.demoEmulatorStateFile(config.dataDir) } : {}),
          log: (line) => say(`   ${line}`),
          // A new emulator must not meet the CRM of the last one (demo-fresh-start.ts). A configured
          // database is never touched.
          prepare: async (services) => {
            if (!services.emulator) return;
            if (resuming) {
              say(`   resuming the last demo: the Marketo emulator's state is kept in ${fresh.demoEmulatorStateFile(config.dataDir)} (${services.emulator.subscription.leads.count} leads; --leads applies to a new story, --fresh starts one)`);
              return;
            }
            if (config.databaseUrl) return;
            const dropped = await fresh.dropPreviousDemoData(services.databaseUrl);
            if (dropped.length > 0) say(`   previous demo's CRM and sync state cleared (schemas ${dropped.join(', ')}): a new story with a newly seeded Marketo emulator`);
          },
        },
        config,
      );
      let running: Promise<void> | undefined;
      let worker: Awaited<ReturnType<typeof createAppWorker>> | undefined;
      const abort = new AbortController();
      // The SDK adds an abort listener per call and never removes it (@temporalio/client
      // connection.js): hundreds over a demo, a few KB, gone with the process; not a leak to warn of.
      setMaxListeners(0, abort.signal);
      let story: Promise<DemoReport> | undefined;
      let interrupted: Error | undefined;
      let stopListening: (() => void) | undefined;
      try {
        if (app.services.emulator && !resuming) {
          const terminated = await fresh.terminateLeftoverDemoRuns(app.client);
          if (terminated.length > 0) say(`   previous demo's unfinished workflows terminated (their history stays in the UI): ${terminated.join(', ')}`);
        }
        // Resuming: the worker finishes what the last run left open, against the same Marketo, before
        // the story runs its steps again on top of the kept data.
        const open = resuming ? await fresh.openDemoRuns(app.client) : [];
        const created = (worker = await createAppWorker(app, { log: (line) => say(`   ${line}`) }));
        stopListening = onStopSignals(() => {
          if (created.getState() === 'RUNNING') created.shutdown();
        });
        running = worker.run();
        // Ctrl-C / SIGTERM make the SDK drain the worker; the story then stops instead of waiting on
        // workflows nobody will run, and its Temporal calls are cancelled.
        const stopped = running.then(() => {
          abort.abort();
          throw new Error("interrupted: the worker shut down before the demo finished; run it again to resume (or with --fresh for a new story; the Temporal UI keeps this run's workflows)");
        });
        stopped.catch(() => undefined); // after a finished demo, the worker's shutdown is not an error
        story = app.client.withAbortSignal(abort.signal, async () => {
          if (open.length > 0) {
            say(`Resuming the last demo's unfinished workflows on this worker: ${open.join(', ')}`);
            for (const r of await fresh.finishOpenDemoRuns(app.client, open)) say(`   ${r.id}: ${r.outcome}`);
          }
          return runDemo(app, { cycles: opts.cycles, say });
        });
        story.catch(() => undefined); // lost the race to `stopped`: that error is the one reported
        const report = await Promise.race([story, stopped]).catch((err: unknown) => {
          if (!abort.signal.aborted) throw err;
          interrupted = err as Error;
          return undefined;
        });
        if (report) {
          if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          else say(summary(report));
          if (!report.reconciliation.ok || !report.webhook.crmRow) process.exitCode = ExitCode.notHealthy;
        }
        if (report && opts.keepRunning) {
          say('Services keep running; press Ctrl-C to stop.');
          await running;
        }
      } finally {
        // Ctrl-C reaches the embedded dev server too (same process group): a story call that met it
        // stopping is retried by the SDK's gRPC retry timer, which nothing cancels, and once the
        // connection is closed that retry throws "Channel has been shut down" from the timer. While
        // the demo shuts down that error is expected; anything else still ends the process loudly.
        process.on('uncaughtException', ignoreClosedChannel);
        if (worker && worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        // The story's calls end before their connections close: a gRPC retry that fires on a closed
        // channel throws where nothing can catch it (an interrupted demo died with a stack trace,
        // leaving the embedded Postgres running).
        abort.abort();
        if (story) await Promise.race([story.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
        await app.close();
        stopListening?.();
      }
      if (interrupted) {
        // Calls the story made to the dev server Ctrl-C also stopped may still have a gRPC retry
        // scheduled, which throws where nothing can catch it once the channel is closed: everything
        // is cleaned up, so the process ends here with its own message instead of a stack trace.
        process.exit(reportFailure('marketo-sync', interrupted, opts.json));
      }
    });
}
