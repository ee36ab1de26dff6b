import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import type { RecordedConflict } from '../../src/store/cycles.js';
import type { syncLoop } from '../../workflows/index.js';
import { MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, type SyncLoopInput, type SyncStatus } from '../../workflows/sync-types.js';
import { CliError, ExitCode } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import { printResult, table } from '../output/print.js';

// The Temporal SDK, the workflow definitions and the state store load inside the actions (seconds
// of CPU): `--help` and a mistyped option answer without them.
const temporalClient = () => import('@temporalio/client');
const workflows = () => import('../../workflows/index.js');

/** One sync loop per namespace and task queue: `start` again attaches to the running one. */
export function syncWorkflowId(taskQueue: string): string {
  return `marketo-sync-loop-${taskQueue}`;
}

/** `300`, `90s`, `5m`, `1h` → seconds. */
export function parseDurationSeconds(text: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/i.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a duration: write seconds (300) or 90s, 5m, 1h`);
  const unit = (m[2] ?? 's').toLowerCase();
  return Number(m[1]) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1);
}

const duration = z
  .string()
  .transform((s, ctx) => {
    try {
      return parseDurationSeconds(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  })
  .pipe(z.number().int().min(MIN_INTERVAL_SECONDS).max(MAX_INTERVAL_SECONDS));
const wholeNumber = z.string().regex(/^\d+$/, 'must be a positive whole number').transform(Number).pipe(z.number().int().positive());

const startOptions = z.object({
  interval: duration.optional(),
  since: z.iso.datetime({ offset: true }).or(z.iso.date().transform((d) => `${d}T00:00:00Z`)).optional(),
  dailyBudget: wholeNumber.optional(),
  schemaEvery: wholeNumber.optional(),
  cycles: wholeNumber.optional(),
  worker: z.boolean().default(true),
  json: z.boolean().optional(),
});

/** What `sync start` hands the workflow, from the validated options. */
export function syncInputOf(opts: z.output<typeof startOptions>): SyncLoopInput {
  return {
    ...(opts.interval === undefined ? {} : { intervalSeconds: opts.interval }),
    ...(opts.since === undefined ? {} : { since: opts.since }),
    ...(opts.dailyBudget === undefined ? {} : { dailyCallBudget: opts.dailyBudget }),
    ...(opts.schemaEvery === undefined ? {} : { schemaRefreshEveryCycles: opts.schemaEvery }),
    ...(opts.cycles === undefined ? {} : { maxCycles: opts.cycles }),
  };
}

/**
 * Healthy: the loop is open, not paused, not waiting out a spent quota, its last cycle succeeded,
 * and the saved mapping holds against the last Describe (a mapping error means fields or objects
 * the admin enabled are not syncing, though cycles still succeed).
 */
export function isHealthy(status: SyncStatus, open: boolean): boolean {
  return open && ['starting', 'running', 'sleeping'].includes(status.state) && status.lastCycle?.outcome !== 'failed' && status.schema.mappingErrors.length === 0;
}

/** The status as text (what `sync status` prints). */
export function describeSyncStatus(s: SyncStatus, open = true): string {
  const lines = [`sync loop ${open ? s.state : `${s.state} (workflow closed)`}, ${s.cycles} cycles, run ${s.run}`];
  if (s.step) lines.push(`  now: step ${s.step.seed} ${s.step.activity} (run ${s.step.run})`);
  if (s.pauseReason) lines.push(`  paused: ${s.pauseReason}`);
  if (s.quotaPause) lines.push(`  Marketo quota spent: waiting until ${s.quotaPause.resetAt} (${s.quotaPause.reason})`);
  lines.push(`  interval ${s.intervalSeconds} s${s.effectiveIntervalSeconds !== s.intervalSeconds ? `, waiting ${s.effectiveIntervalSeconds} s` : ''}${s.dailyCallBudget ? `, daily budget ${s.dailyCallBudget} calls` : ''}`);
  if (s.intervalReason) lines.push(`  ${s.intervalReason}`);
  if (s.nextRunAt) lines.push(`  next cycle at ${s.nextRunAt}`);
  const c = s.lastCycle;
  if (c) {
    lines.push(`  last cycle #${c.number} ${c.outcome} at ${c.finishedAt}: ${c.durationMs} ms, ${c.apiCalls} API calls${c.schemaRefreshed ? ' (schema refreshed)' : ''}`);
    if (c.error) lines.push(`    error: ${c.error}`);
    if (c.conflicts) lines.push(`    conflicts settled: ${c.conflicts} (marketo-sync sync conflicts --cycle ${c.historyId})`);
    for (const st of c.steps) {
      if (st.read || st.written || st.skipped || st.calls) lines.push(`    ${String(st.seed).padStart(2)} ${st.step.padEnd(24)} read ${st.read}  written ${st.written}  ledgered ${st.skipped}  calls ${st.calls}${st.runs > 1 ? `  runs ${st.runs}` : ''}${st.conflicts ? `  conflicts ${st.conflicts}` : ''}${st.converted ? `  converted ${st.converted}` : ''}${st.companiesScanned ? `  companies scanned ${st.companiesScanned}` : ''}${st.retention ? `  (${st.retention}: caught up without the activity log)` : ''}`);
    }
  }
  if (s.lastFailure && s.lastFailure.number !== c?.number) lines.push(`  last failure: cycle #${s.lastFailure.number} at ${s.lastFailure.at}: ${s.lastFailure.error}`);
  if (s.quota) lines.push(`  Marketo calls today (${s.quota.day}): ${s.quota.callsToday} of ${s.quota.dailyLimit}, ${s.quota.remainingToday} left, reset ${s.quota.resetAt}`);
  for (const [stream, at] of Object.entries(s.watermarks)) lines.push(`  watermark ${stream.padEnd(36)} ${at ?? '-'}`);
  if (s.unavailableSteps.length) lines.push(`  steps this worker does not provide (skipped): ${s.unavailableSteps.join(', ')}`);
  for (const e of s.schema.mappingErrors) lines.push(`  mapping error: ${e}`);
  return lines.join('\n');
}

const conflictOptions = z.object({
  cycle: z.string().regex(/^\d+$/, 'must be a cycle id (status shows the last cycle\'s)').optional(),
  limit: wholeNumber.pipe(z.number().max(100_000)).optional(),
  json: z.boolean().optional(),
});

/** Conflicts as text (what `sync conflicts` prints): one line per record and field, never values. */
export function describeConflicts(rows: readonly RecordedConflict[], cycle?: string): string {
  if (rows.length === 0) return cycle === undefined ? 'no conflicts recorded' : `no conflicts in cycle ${cycle}`;
  return table(rows, [
    { header: 'CYCLE', value: (r) => r.cycleId, right: true },
    { header: 'AT', value: (r) => new Date(r.at).toISOString() },
    { header: 'ENTITY', value: (r) => r.entity },
    { header: 'RECORD', value: (r) => r.recordKey },
    { header: 'FIELD', value: (r) => r.field },
    { header: 'RULE', value: (r) => r.rule },
    { header: 'WINNER', value: (r) => r.winner },
  ]);
}

/** The state store only (cycle history): no Marketo or Temporal needed. */
async function withStore<T>(work: (store: import('../../src/store/state-store.js').StateStore) => Promise<T>): Promise<T> {
  const [{ resolveServices }, { StateStore }] = await Promise.all([import('../runtime/services.js'), import('../../src/store/state-store.js')]);
  const services = await resolveServices(loadConfig(), { temporal: false, log: (line) => console.error(line) });
  try {
    const store = await StateStore.open({ connectionString: services.databaseUrl });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  } finally {
    await services.stop();
  }
}

/** A Temporal client only: the control commands need no database, Marketo or worker. */
async function openTemporal(config: AppConfig): Promise<{ client: Client; taskQueue: string; close(): Promise<void> }> {
  const address = config.temporal.address ?? `127.0.0.1:${config.embedded.temporalPort}`;
  const [{ Client }, { connectTemporalClient }] = await Promise.all([temporalClient(), import('../runtime/temporal-connection.js')]);
  let connection: Connection;
  try {
    connection = await connectTemporalClient(config.temporal, address, { connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(`no Temporal server at ${address} (${(err as Error).message})`, ExitCode.failure);
  }
  return { client: new Client({ connection, namespace: config.temporal.namespace }), taskQueue: config.temporal.taskQueue, close: () => connection.close() };
}

async function withLoop<T>(run: (handle: WorkflowHandle<typeof syncLoop>, id: string) => Promise<T>): Promise<T> {
  const temporal = await openTemporal(loadConfig());
  const { WorkflowNotFoundError } = await temporalClient();
  const id = syncWorkflowId(temporal.taskQueue);
  try {
    return await run(temporal.client.workflow.getHandle<typeof syncLoop>(id), id);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no sync loop is running (workflow ${id}); start one with 'marketo-sync sync start'`, ExitCode.notHealthy);
    throw err;
  } finally {
    await temporal.close();
  }
}

/** The loop's status and whether its workflow is still open (a closed one still answers queries). */
export async function readSyncStatus(handle: WorkflowHandle<typeof syncLoop>): Promise<{ status: SyncStatus; open: boolean; workflowStatus: string }> {
  const { syncStatusQuery } = await workflows();
  const description = await handle.describe();
  const status = await handle.query(syncStatusQuery);
  return { status, open: description.status.name === 'RUNNING', workflowStatus: description.status.name };
}

/**
 * `marketo-sync sync start|pause|resume|now|interval|status|conflicts|stop`. The same controls are the
 * `syncLoop` workflow's signals, update and query in the Temporal UI (docs/sync-loop.md).
 * Exit codes: 0 done / healthy, 1 failure, 2 bad usage, 3 no loop running or (status) not
 * healthy, 4 a new interval refused.
 */
export function registerSyncCommand(program: Command): void {
  const sync = program.command('sync').description('the continuous two-way sync loop (a durable Temporal workflow)');

  sync
    .command('start')
    .description('start the sync loop (or attach to the running one); by default runs a worker here until Ctrl-C')
    .option('--interval <duration>', 'wait after each cycle ends: seconds, or 90s, 5m, 1h (default 5m)')
    .option('--since <date>', 'start Marketo → CRM streams the bootstrap left no watermark for at this date')
    .option('--daily-budget <calls>', 'stretch the interval to keep projected daily API calls under this')
    .option('--schema-every <cycles>', 'describe Marketo every N cycles (default 12)')
    .option('--cycles <n>', 'end after n cycles (default: run until stopped)')
    .option('--no-worker', 'only start the workflow; a `marketo-sync worker` elsewhere runs it')
    .option('--json', 'print the start result as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(startOptions, raw);
      const input = syncInputOf(opts);
      const config = loadConfig();
      const [{ WorkflowExecutionAlreadyStartedError }, { syncLoop }, { startMarked }] = await Promise.all([temporalClient(), workflows(), import('../runtime/start-attributes.js')]);
      const start = async (client: Client, taskQueue: string) => {
        const workflowId = syncWorkflowId(taskQueue);
        try {
          await startMarked('syncLoop', 'starting', (attributes) => client.workflow.start(syncLoop, { taskQueue, workflowId, args: [input], ...attributes }), (line) => console.error(line), config.temporal);
          return { workflowId, started: true };
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          return { workflowId, started: false };
        }
      };
      const say = (r: { workflowId: string; started: boolean }) =>
        printResult(opts, r, () => (r.started ? `sync loop ${r.workflowId} started` : `sync loop ${r.workflowId} is already running (options unchanged; use 'sync interval' to change the interval)`));
      if (!opts.worker) {
        const temporal = await openTemporal(config);
        try {
          say(await start(temporal.client, temporal.taskQueue));
        } finally {
          await temporal.close();
        }
        return;
      }
      // The worker runtime (and the embedded services) load only when this process runs the worker.
      const { createAppWorker, openApp } = await import('../runtime/app.js');
      const app = await openApp({ log: (line) => console.error(line) });
      try {
        const worker = await createAppWorker(app);
        const running = worker.run();
        say(await start(app.client, app.config.temporal.taskQueue));
        console.error('worker running; Ctrl-C stops this worker (the loop waits durably for a worker)');
        await running;
      } finally {
        await app.close();
      }
    });

  sync
    .command('pause')
    .description('hold the loop before its next step or cycle')
    .option('--reason <text>', 'shown in status')
    .option('--json', 'print what was requested as JSON')
    .action(async (opts: { reason?: string; json?: boolean }) => {
      await withLoop(async (handle, id) => {
        const { syncPauseSignal } = await workflows();
        await handle.signal(syncPauseSignal, opts.reason ? { reason: opts.reason } : {});
        printResult(opts, { workflowId: id, requested: 'pause' }, () => `sync loop ${id}: pause requested`);
      });
    });

  sync
    .command('resume')
    .description('let a paused loop go on')
    .option('--json', 'print what was requested as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withLoop(async (handle, id) => {
        const { syncResumeSignal } = await workflows();
        await handle.signal(syncResumeSignal);
        printResult(opts, { workflowId: id, requested: 'resume' }, () => `sync loop ${id}: resumed`);
      });
    });

  sync
    .command('now')
    .description('run a cycle now instead of waiting out the interval')
    .option('--json', 'print what was requested as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withLoop(async (handle, id) => {
        const { syncNowSignal } = await workflows();
        await handle.signal(syncNowSignal);
        printResult(opts, { workflowId: id, requested: 'now' }, () => `sync loop ${id}: cycle requested`);
      });
    });

  sync
    .command('interval <duration>')
    .description('change the wait between cycles: seconds, or 90s, 5m, 1h')
    .option('--json', 'print the new status as JSON')
    .action(async (text: string, opts: { json?: boolean }) => {
      const { interval } = parseOptions(z.object({ interval: duration }), { interval: text });
      const [{ WorkflowUpdateFailedError }, { syncSetIntervalUpdate }] = await Promise.all([temporalClient(), workflows()]);
      await withLoop(async (handle) => {
        try {
          const status = await handle.executeUpdate(syncSetIntervalUpdate, { args: [{ intervalSeconds: interval }] });
          printResult(opts, status, (s) => `interval ${s.intervalSeconds} s${s.nextRunAt ? `, next cycle at ${s.nextRunAt}` : ''}`);
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new CliError(`interval refused: ${err.cause?.message ?? err.message}`, ExitCode.rejected);
          throw err;
        }
      });
    });

  sync
    .command('status')
    .description('where the loop stands: state, step, last cycle, watermarks, quota, next run (exit 3 when not healthy)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withLoop(async (handle) => {
        const { status, open, workflowStatus } = await readSyncStatus(handle);
        printResult(opts, { ...status, workflowStatus }, () => describeSyncStatus(status, open));
        if (!isHealthy(status, open)) process.exitCode = ExitCode.notHealthy;
      });
    });

  sync
    .command('conflicts')
    .description('fields both sides changed, settled by the conflict rule, from the cycle history (newest cycle first)')
    .option('--cycle <id>', 'only this cycle (its history id, as `sync status` shows)')
    .option('--limit <n>', 'at most this many rows (default 1000)')
    .option('--json', 'print the conflicts as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(conflictOptions, raw);
      const rows = await withStore((store) => store.cycles.conflicts(opts.cycle, opts.limit));
      printResult(opts, rows, (r) => describeConflicts(r, opts.cycle));
    });

  sync
    .command('stop')
    .description('end the loop after the cycle in flight')
    .option('--reason <text>', 'kept in the workflow history')
    .option('--wait', 'wait until the loop has ended')
    .option('--json', 'print what was requested (with --wait: the cycles run) as JSON')
    .action(async (opts: { reason?: string; wait?: boolean; json?: boolean }) => {
      await withLoop(async (handle, id) => {
        const { syncStopSignal } = await workflows();
        await handle.signal(syncStopSignal, opts.reason ? { reason: opts.reason } : {});
        if (opts.wait) {
          const result = await handle.result();
          printResult(opts, { workflowId: id, requested: 'stop', stopped: true, cycles: result.cycles }, () => `sync loop ${id} stopped after ${result.cycles} cycles`);
        } else printResult(opts, { workflowId: id, requested: 'stop', stopped: false }, () => `sync loop ${id}: stop requested (it ends after the cycle in flight)`);
      });
    });
}
