import { condition, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import { bootstrapProgressQuery, cancelSignal, pauseSignal, resumeSignal, windowUpdateSignal } from './bootstrap-signals.js';
import {
  AT_MARKETO,
  DEFAULT_POLL,
  type BootstrapInput,
  type BootstrapProgress,
  type BootstrapResult,
  type BulkExportResult,
  type ExportSource,
  type ExportWindow,
  type IngestSink,
  type PhaseProgress,
  type PollSettings,
} from './bootstrap-types.js';
import { bulkExport } from './bulk-export.js';

const acts = proxyActivities<BootstrapActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

function emptyPhase(enabled: boolean): PhaseProgress {
  return { enabled, state: enabled ? 'pending' : 'skipped', windowsTotal: 0, windowsDone: 0, records: 0, bytes: 0, written: 0, failed: 0, apiCalls: 0, active: {} };
}

/** Marketo timestamps have second precision; the bulk filter takes them without millis. */
function toSecond(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The initial load, in the seed's bootstrapping order (leads first). The high watermark is fixed
 * at start, every enabled entity is read from its own low watermark up to it, and at the end it
 * is recorded for the sync loop. Windows run as `bulkExport` children, scheduled so Marketo
 * always has its 2 processing jobs plus the next one queued (its 2-concurrent-jobs rule is the
 * bound on wall time). `pause`, `resume` and `cancel` act between windows.
 */
export async function bootstrap(input: BootstrapInput): Promise<BootstrapResult> {
  const info = workflowInfo();
  const highWatermark = input.highWatermark ?? toSecond(Date.now());
  const poll: PollSettings = { ...DEFAULT_POLL, ...input.poll };
  const jobsAtMarketo = input.jobsAtMarketo ?? 3;
  const maxChildren = input.maxChildren ?? jobsAtMarketo + 3;
  const progress: BootstrapProgress = { state: 'running', highWatermark, phases: { leads: emptyPhase(input.entities.leads.enabled) } };
  let paused = false;
  let cancelled = false;
  setHandler(bootstrapProgressQuery, () => progress);
  setHandler(pauseSignal, () => {
    paused = true;
    if (progress.state === 'running') progress.state = 'paused';
  });
  setHandler(resumeSignal, () => {
    paused = false;
    if (progress.state === 'paused') progress.state = 'running';
  });
  setHandler(cancelSignal, () => {
    cancelled = true;
    progress.state = 'cancelling';
  });
  setHandler(windowUpdateSignal, (u) => {
    const phase = progress.phases[u.phase];
    // Late news of a window already finished changes nothing.
    if (!phase || !(String(u.index) in phase.active)) return;
    phase.active[String(u.index)] = u.state;
    if (u.state === 'quota-paused' && u.quotaWait) progress.quotaWait = u.quotaWait;
    else if (!Object.values(progress.phases).some((p) => Object.values(p.active).includes('quota-paused'))) delete progress.quotaWait;
  });

  const atMarketo = (phase: PhaseProgress) => Object.values(phase.active).filter((s) => AT_MARKETO.has(s)).length;

  async function runWindows(name: string, source: ExportSource, sink: IngestSink, windows: ExportWindow[]): Promise<void> {
    const phase = progress.phases[name]!;
    phase.state = 'running';
    phase.windowsTotal = windows.length;
    const running = new Set<Promise<void>>();
    let failure: unknown;
    let next = 0;
    const finish = (result: BulkExportResult) => {
      phase.windowsDone += 1;
      phase.records += result.rows;
      phase.bytes += result.bytes;
      phase.written += result.written;
      phase.failed += result.failed;
      phase.apiCalls += result.apiCalls;
    };
    while (next < windows.length) {
      await condition(() => cancelled || failure !== undefined || (!paused && atMarketo(phase) < jobsAtMarketo && running.size < maxChildren));
      if (cancelled || failure !== undefined) break;
      const index = next++;
      // Counted at Marketo from now, before the child's first report arrives.
      phase.active[String(index)] = 'creating';
      const child = async (): Promise<void> => {
        try {
          finish(
            await executeChild(bulkExport, {
              workflowId: `${info.workflowId}/${name}/${index}`,
              args: [
                {
                  parentId: info.workflowId,
                  phase: name,
                  index,
                  source,
                  sink,
                  runId: info.workflowId,
                  window: windows[index]!,
                  poll,
                  ...(input.ingestHeartbeatTimeout ? { heartbeatTimeout: input.ingestHeartbeatTimeout } : {}),
                },
              ],
            }),
          );
        } catch (err) {
          failure ??= err;
        } finally {
          delete phase.active[String(index)];
          running.delete(task);
        }
      };
      const task = child();
      running.add(task);
    }
    await Promise.all([...running]);
    if (failure !== undefined) throw failure;
    phase.state = cancelled ? 'cancelled' : 'done';
  }

  const leads = input.entities.leads;
  if (leads.enabled) {
    const windows = await acts.planExportWindows({ startAt: leads.since ?? input.since, endAt: highWatermark, ...(input.maxWindowDays ? { maxDays: input.maxWindowDays } : {}) });
    await runWindows('leads', { kind: 'leads' }, 'leads', windows);
  }

  if (cancelled) {
    progress.state = 'cancelled';
    return { highWatermark, progress };
  }
  const done = Object.entries(progress.phases).filter(([, p]) => p.state === 'done').map(([name]) => name);
  await acts.recordBootstrapWatermarks({ highWatermark, entities: done });
  progress.state = 'done';
  return { highWatermark, progress };
}
