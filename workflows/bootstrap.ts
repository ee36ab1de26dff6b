import { ApplicationFailure, condition, executeChild, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BootstrapActivities } from '../activities/bootstrap.js';
import type { PhaseContext } from './bootstrap-phase.js';
import { MARKETING_PHASES } from './bootstrap-marketing.js';
import { SALES_PHASES } from './bootstrap-sales.js';
import { bootstrapProgressQuery, cancelSignal, pauseSignal, resumeSignal, windowUpdateSignal } from './bootstrap-signals.js';
import {
  AT_MARKETO,
  BOOTSTRAP_ENTITIES,
  DEFAULT_POLL,
  PRELOAD_PHASE,
  type BootstrapEntity,
  type BootstrapInput,
  type BootstrapProgress,
  type BootstrapResult,
  type BulkExportResult,
  type ExportSource,
  type ExportWindow,
  type IngestSink,
  type PhaseProgress,
  type PollSettings,
  type PreloadKind,
} from './bootstrap-types.js';
import { bulkExport } from './bulk-export.js';
import { ExportEstimates } from './export-estimates.js';
import { markSyncState } from './search-attributes.js';

const acts = proxyActivities<BootstrapActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * One phase of the load. Phases start as soon as the phases they depend on are done (the seed's
 * order is the dependency order: companies need the keys staged by leads, roles need the contacts
 * and opportunities), so independent exports share Marketo's two processing slots instead of
 * leaving them idle while a REST-only phase runs.
 */
export interface PhaseSpec {
  entity: BootstrapEntity;
  /**
   * Entities that must be done first, when they are enabled. A function is asked once at the
   * bootstrap's start (a phase whose order changed behind a `patched` marker keeps the old order
   * on replay).
   */
  after: BootstrapEntity[] | (() => BootstrapEntity[]);
  /**
   * Entities this phase runs alongside, taking in rounds what they have staged so far, with a
   * last round once they are done (e.g. companies while leads still stream in), so that little
   * is left for after the last export.
   */
  follows?: BootstrapEntity[] | (() => BootstrapEntity[]);
  /** Entities that must be enabled with this one (roles are found through the opportunities phase). */
  requires?: BootstrapEntity[];
  /** A plain `PhaseFunction` fits (it ignores the extra context). */
  run: (ctx: FollowingPhaseContext) => Promise<void>;
}

/** What a phase with `follows` gets besides the common context. */
export interface FollowingPhaseContext extends PhaseContext {
  /** True once every followed phase is finished (or disabled): the next round is the last. */
  upstreamDone(): boolean;
  /** Waits until a followed phase made progress (a window, a write) or all are finished. */
  upstreamChanged(): Promise<void>;
  /** Every phase's progress (read only): what a following phase decides its next round by. */
  phases: Readonly<Record<string, Readonly<PhaseProgress>>>;
  /** The enabled phases this one follows. */
  followed: BootstrapEntity[];
  /** Waits until `ready()` holds or every followed phase is finished (or the bootstrap stops). */
  upstreamUntil(ready: () => boolean): Promise<void>;
}

/** Every phase in the seed's order: the lead database, then the Marketo-only records. */
export const PHASES: PhaseSpec[] = [...SALES_PHASES, ...MARKETING_PHASES];

function emptyPhase(enabled: boolean): PhaseProgress {
  return { enabled, state: enabled ? 'pending' : 'skipped', windowsTotal: 0, windowsDone: 0, records: 0, bytes: 0, written: 0, failed: 0, apiCalls: 0, active: {} };
}

/** Marketo timestamps have second precision; the bulk filter takes them without millis. */
function toSecond(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The initial load, in the seed's bootstrapping order. The high watermark is fixed at start,
 * every enabled entity is read from its own low watermark up to it, and at the end it is recorded
 * for the sync loop. Windows run as `bulkExport` children under one scheduler shared by all
 * phases, so Marketo always has its 2 processing jobs plus the next one queued (its
 * 2-concurrent-jobs rule is the bound on wall time). `pause`, `resume` and `cancel` act between
 * windows and between steps of the REST phases.
 */
export async function bootstrap(input: BootstrapInput): Promise<BootstrapResult> {
  const info = workflowInfo();
  const highWatermark = input.highWatermark ?? toSecond(Date.now());
  const poll: PollSettings = { ...DEFAULT_POLL, ...input.poll };
  // 2 processing + 3 queued (of Marketo's 10 per subscription): a job that completes before its
  // poll comes round is replaced from the queue, not by a create the poll would start. Downloads
  // get their own room (maxChildren) so a slow ingest does not hold back the next exports.
  // Runs started before this change keep 3 and 6 (their histories were made with those).
  const deeperQueue = patched('bootstrap-deeper-export-queue');
  const jobsAtMarketo = input.jobsAtMarketo ?? (deeperQueue ? 5 : 3);
  const maxChildren = input.maxChildren ?? jobsAtMarketo + (deeperQueue ? 5 : 3);
  // Each window's child is told when its job should be Completed (from its phase's completed jobs
  // and the jobs ahead of it at Marketo), so it polls then instead of on the fixed schedule.
  const estimates = patched('bootstrap-export-estimates') && input.pollByEstimate !== false ? new ExportEstimates() : undefined;
  const enabled = (e: BootstrapEntity): boolean => input.entities[e]?.enabled === true;
  const progress: BootstrapProgress = { state: 'running', highWatermark, phases: {} };
  // Runs started before the search attributes existed replay without them.
  const marked = patched('marketo-search-attributes');
  const mark = (state: string = progress.state) => {
    if (marked) markSyncState(state);
  };
  // Listed in the seed's order (what the CLI draws).
  for (const entity of BOOTSTRAP_ENTITIES) if (PHASES.some((p) => p.entity === entity)) progress.phases[entity] = emptyPhase(enabled(entity));
  let paused = false;
  let cancelled = false;
  let failure: unknown;
  setHandler(bootstrapProgressQuery, () => progress);
  setHandler(pauseSignal, () => {
    paused = true;
    if (progress.state === 'running') progress.state = 'paused';
    mark();
  });
  setHandler(resumeSignal, () => {
    paused = false;
    if (progress.state === 'paused') progress.state = 'running';
    mark();
  });
  setHandler(cancelSignal, () => {
    cancelled = true;
    progress.state = 'cancelling';
    mark();
  });
  setHandler(windowUpdateSignal, (u) => {
    const phase = progress.phases[u.phase];
    // Late news of a window already finished changes nothing.
    if (!phase || !(String(u.index) in phase.active)) return;
    phase.active[String(u.index)] = u.state;
    if (u.expired) phase.expiredExports = (phase.expiredExports ?? 0) + 1;
    if (u.processingMs !== undefined) estimates?.completed(`${u.phase}/${u.index}`, u.processingMs);
    if (u.state === 'quota-paused' && u.quotaWait) progress.quotaWait = u.quotaWait;
    else if (!Object.values(progress.phases).some((p) => Object.values(p.active).includes('quota-paused'))) delete progress.quotaWait;
  });

  // One scheduler for every phase: Marketo's queue and processing slots are per subscription.
  const atMarketo = () => Object.values(progress.phases).reduce((n, p) => n + Object.values(p.active).filter((s) => AT_MARKETO.has(s)).length, 0);
  let childrenRunning = 0;
  const stopping = () => cancelled || failure !== undefined;

  async function runWindows(name: string, source: ExportSource, sink: IngestSink, windows: ExportWindow[]): Promise<void> {
    const phase = progress.phases[name]!;
    // A phase may export several sources: window numbers (and child ids) continue across calls.
    const first = phase.windowsTotal;
    phase.windowsTotal += windows.length;
    const running = new Set<Promise<void>>();
    let phaseFailure: unknown;
    const finish = (result: BulkExportResult) => {
      // Normally known already from the window's `downloading` update; counted once either way.
      if (result.processingMs !== undefined) estimates?.completed(`${name}/${result.index}`, result.processingMs);
      phase.windowsDone += 1;
      phase.records += result.rows;
      phase.bytes += result.bytes;
      phase.written += result.written;
      phase.failed += result.failed;
      phase.apiCalls += result.apiCalls;
      // The lead ingest loads the companies and salespersons its batches name: theirs to count.
      for (const kind of Object.keys(PRELOAD_PHASE) as PreloadKind[]) {
        const counts = result.loaded?.[kind];
        const other = progress.phases[PRELOAD_PHASE[kind]];
        if (!other || !counts) continue;
        other.records += counts.records;
        other.written += counts.written;
        other.failed += counts.failed;
        other.apiCalls += counts.apiCalls;
      }
    };
    for (let next = 0; next < windows.length; ) {
      await condition(() => stopping() || (!paused && atMarketo() < jobsAtMarketo && childrenRunning < maxChildren));
      if (stopping()) break;
      const index = first + next;
      const window = windows[next++]!;
      // Counted at Marketo from now, before the child's first report arrives.
      phase.active[String(index)] = 'creating';
      childrenRunning += 1;
      const key = `${name}/${index}`;
      const estimate = estimates?.enqueue(key, name, window, Date.now(), (other) => {
        const slash = other.lastIndexOf('/');
        const s = progress.phases[other.slice(0, slash)]?.active[other.slice(slash + 1)];
        return s !== undefined && AT_MARKETO.has(s);
      });
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
                  window,
                  poll,
                  ...(input.ingestHeartbeatTimeout ? { heartbeatTimeout: input.ingestHeartbeatTimeout } : {}),
                  ...(estimate ? { estimate } : {}),
                },
              ],
            }),
          );
        } catch (err) {
          phaseFailure ??= err;
          failure ??= err;
        } finally {
          estimates?.forget(key);
          delete phase.active[String(index)];
          childrenRunning -= 1;
          running.delete(task);
        }
      };
      const task = child();
      running.add(task);
    }
    await Promise.all([...running]);
    if (phaseFailure !== undefined) throw phaseFailure;
  }

  async function checkpoint(): Promise<boolean> {
    await condition(() => stopping() || !paused);
    return !stopping();
  }

  const finished = new Set<BootstrapEntity>();
  // Resolved once, in PHASES order, before any phase starts (see PhaseSpec.after).
  const order = new Map(PHASES.map((spec) => [spec, { after: typeof spec.after === 'function' ? spec.after() : spec.after, follows: typeof spec.follows === 'function' ? spec.follows() : (spec.follows ?? []) }]));
  const followed = (spec: PhaseSpec) => order.get(spec)!.follows.filter(enabled);
  const upstreamDone = (spec: PhaseSpec) => followed(spec).every((e) => finished.has(e));
  const upstreamVersion = (spec: PhaseSpec) => followed(spec).reduce((n, e) => n + progress.phases[e]!.windowsDone + progress.phases[e]!.written, 0);

  const runPhase = async (spec: PhaseSpec, deps: Promise<boolean>[]): Promise<boolean> => {
    try {
      return await runPhaseBody(spec, deps);
    } finally {
      finished.add(spec.entity);
    }
  };
  const runPhaseBody = async (spec: PhaseSpec, deps: Promise<boolean>[]): Promise<boolean> => {
    const phase = progress.phases[spec.entity]!;
    const depsDone = (await Promise.all(deps)).every(Boolean);
    if (!phase.enabled) return false;
    if (!depsDone || !(await checkpoint())) {
      phase.state = 'cancelled';
      return false;
    }
    const own = input.entities[spec.entity]!;
    const maxWindowDays = own.maxWindowDays ?? input.maxWindowDays;
    const setting = maxWindowDays === undefined ? own : { ...own, maxWindowDays };
    const ctx: FollowingPhaseContext = {
      name: spec.entity,
      setting,
      since: setting.since ?? input.since,
      highWatermark,
      runId: info.workflowId,
      progress: phase,
      runWindows: (source, sink, windows) => runWindows(spec.entity, source, sink, windows),
      checkpoint,
      enabled,
      upstreamDone: () => upstreamDone(spec),
      upstreamChanged: async () => {
        const seen = upstreamVersion(spec);
        await condition(() => stopping() || upstreamDone(spec) || upstreamVersion(spec) !== seen);
      },
      phases: progress.phases,
      followed: followed(spec),
      upstreamUntil: async (ready) => {
        await condition(() => stopping() || upstreamDone(spec) || ready());
      },
    };
    phase.state = 'running';
    try {
      await spec.run(ctx);
    } catch (err) {
      failure ??= err;
      phase.state = 'cancelled';
      throw err;
    }
    phase.state = stopping() ? 'cancelled' : 'done';
    return phase.state === 'done';
  };

  const unknown = Object.keys(input.entities).filter((e) => enabled(e as BootstrapEntity) && !PHASES.some((p) => p.entity === e));
  if (unknown.length) throw ApplicationFailure.nonRetryable(`no bootstrap phase loads ${unknown.join(', ')} (phases: ${PHASES.map((p) => p.entity).join(', ')})`, 'UnknownEntity');
  for (const spec of PHASES) {
    const missing = enabled(spec.entity) ? (spec.requires ?? []).filter((e) => !enabled(e)) : [];
    if (missing.length) throw ApplicationFailure.nonRetryable(`${spec.entity} needs ${missing.join(', ')} enabled too`, 'MissingEntity');
  }

  // Each phase waits for the enabled phases it depends on; a disabled dependency is not waited for.
  const started = new Map<BootstrapEntity, Promise<boolean>>();
  for (const spec of PHASES) {
    const deps = order.get(spec)!.after.filter(enabled).map((d) => {
      const dep = started.get(d);
      if (!dep) throw new Error(`phase ${spec.entity} is listed before ${d}, which it depends on`);
      return dep;
    });
    started.set(spec.entity, runPhase(spec, deps));
  }
  const outcomes = await Promise.allSettled([...started.values()]);
  if (failure !== undefined || outcomes.some((o) => o.status === 'rejected')) mark('failed');
  if (failure !== undefined) throw failure;
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;

  if (cancelled) {
    progress.state = 'cancelled';
    mark();
    return { highWatermark, progress };
  }
  const done = Object.entries(progress.phases).filter(([, p]) => p.state === 'done').map(([name]) => name);
  await acts.recordBootstrapWatermarks({ highWatermark, entities: done });
  progress.state = 'done';
  mark();
  return { highWatermark, progress };
}
