import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { CycleActivities } from '../activities/cycle.js';
import type { SchemaActivities } from '../activities/schema.js';
import { withQuotaPause } from './quota.js';
import { markSyncState } from './search-attributes.js';
import { syncNowSignal, syncPauseSignal, syncResumeSignal, syncSetIntervalUpdate, syncStatusQuery, syncStopSignal } from './sync-signals.js';
import {
  CYCLE_STEPS,
  DEFAULT_INTERVAL_SECONDS,
  MAX_INTERVAL_SECONDS,
  MIN_INTERVAL_SECONDS,
  type CycleFigures,
  type StepFigures,
  type StepInput,
  type StepResult,
  type SyncCarriedState,
  type SyncLoopInput,
  type SyncLoopResult,
  type SyncStatus,
} from './sync-types.js';

const bookkeeping = proxyActivities<CycleActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

const schema = proxyActivities<SchemaActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

// A step may push thousands of records (Bulk Import polls included). After its attempts are
// spent the cycle is recorded as failed and the next cycle tries again from the same watermark.
// Steps heartbeat on a timer (activities/liveness.ts): a killed worker's step is retried on another
// within the heartbeat timeout instead of at the end of the 30 minutes.
const steps = proxyActivities<Record<string, (input?: StepInput) => Promise<StepResult>>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 6 },
});

const RECENT_CYCLES = 12;

function validInterval(seconds: unknown): number {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_INTERVAL_SECONDS || seconds > MAX_INTERVAL_SECONDS) {
    throw new Error(`intervalSeconds must be a whole number of seconds from ${MIN_INTERVAL_SECONDS} to ${MAX_INTERVAL_SECONDS}, got ${JSON.stringify(seconds)}`);
  }
  return seconds;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  return value;
}

function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // An ActivityFailure says only "Activity task failed"; the reason is in its cause.
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** A step failed as a whole because Marketo does not know a field it was sent (1006, e.g. a Bulk Import column). */
function isSchemaDrift(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return false;
  const detail = err.cause.details?.[0] as { code?: unknown } | undefined;
  return String(detail?.code) === '1006';
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The steady state: a cycle in the seed's 14-step order, then a wait of the interval counted
 * from the cycle's end (stretched when a daily budget asks for it), or less on `syncNow`.
 * `pause`/`resume`/`stop` signals, a `setInterval` update and a `status` query steer and show
 * it; it continues as new every `cyclesPerRun` cycles (or when Temporal suggests it), carrying
 * its state. A cycle whose step fails for good is recorded as failed and the loop goes on: the
 * step's watermark did not move, so the next cycle reads the same changes again.
 */
export async function syncLoop(input: SyncLoopInput): Promise<SyncLoopResult> {
  let intervalSeconds = validInterval(input.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS);
  const dailyCallBudget = input.dailyCallBudget === undefined ? undefined : positiveInt('dailyCallBudget', input.dailyCallBudget, 1);
  const schemaEvery = positiveInt('schemaRefreshEveryCycles', input.schemaRefreshEveryCycles, 12);
  const cyclesPerRun = positiveInt('cyclesPerRun', input.cyclesPerRun, 100);
  const maxStepRuns = positiveInt('maxStepRuns', input.maxStepRuns, 1_000);
  const maxCycles = input.maxCycles === undefined ? Infinity : positiveInt('maxCycles', input.maxCycles, 1);

  const carried: SyncCarriedState = input.carried ?? { cycles: 0, run: 0, paused: false, syncNowPending: false, mappingWarnings: [], mappingErrors: [], recentCycleCalls: [] };
  const state = { ...carried, run: carried.run + 1 };
  let stopRequested = false;
  /** Bumped by anything that must wake the wait between cycles to look again. */
  let wake = 0;
  let effectiveIntervalMs = intervalSeconds * 1000;

  const status: SyncStatus = {
    state: 'starting',
    cycles: state.cycles,
    intervalSeconds,
    effectiveIntervalSeconds: intervalSeconds,
    ...(dailyCallBudget ? { dailyCallBudget } : {}),
    watermarks: {},
    schema: { mappingWarnings: state.mappingWarnings, mappingErrors: state.mappingErrors },
    unavailableSteps: [],
    run: state.run,
  };
  // Runs started before the search attributes existed replay without them.
  const marked = patched('marketo-search-attributes');
  const mark = () => {
    if (marked) markSyncState(status.state);
  };
  const show = () => {
    status.cycles = state.cycles;
    status.intervalSeconds = intervalSeconds;
    status.effectiveIntervalSeconds = Math.round(effectiveIntervalMs / 1000);
    if (state.pauseReason !== undefined && state.paused) status.pauseReason = state.pauseReason;
    else delete status.pauseReason;
    if (state.lastCycle) status.lastCycle = state.lastCycle;
    if (state.lastFailure) status.lastFailure = state.lastFailure;
    if (state.startedFrom) status.startedFrom = state.startedFrom;
    status.schema = {
      ...(state.schemaFingerprint ? { fingerprint: state.schemaFingerprint } : {}),
      ...(state.schemaRefreshedAtCycle ? { refreshedAtCycle: state.schemaRefreshedAtCycle } : {}),
      mappingWarnings: state.mappingWarnings,
      mappingErrors: state.mappingErrors,
    };
    mark();
  };
  show();

  setHandler(syncStatusQuery, () => status);
  setHandler(syncNowSignal, () => {
    state.syncNowPending = true;
    wake++;
  });
  setHandler(syncPauseSignal, (arg) => {
    state.paused = true;
    state.pauseReason = arg?.reason ?? 'paused by operator';
    if (status.state === 'sleeping') status.state = 'paused';
    show();
    wake++;
  });
  setHandler(syncResumeSignal, () => {
    state.paused = false;
    delete state.pauseReason;
    if (status.state === 'paused') status.state = 'sleeping';
    show();
    wake++;
  });
  setHandler(syncStopSignal, () => {
    stopRequested = true;
    wake++;
  });
  setHandler(
    syncSetIntervalUpdate,
    ({ intervalSeconds: next }) => {
      intervalSeconds = next;
      planNextRun();
      show();
      wake++;
      return status;
    },
    { validator: ({ intervalSeconds: next }) => void validInterval(next) },
  );

  /** The wait after the last cycle: the interval, or longer so projected daily calls fit the budget. */
  function planNextRun(): void {
    let waitMs = intervalSeconds * 1000;
    delete status.intervalReason;
    const quota = status.quota;
    if (dailyCallBudget && quota && state.recentCycleCalls.length > 0) {
      const perCycle = state.recentCycleCalls.reduce((a, b) => a + b, 0) / state.recentCycleCalls.length;
      const left = dailyCallBudget - quota.callsToday;
      // Measured by the activity when the quota was read, right at the cycle's end.
      const toReset = Math.max(0, quota.msToReset);
      if (left < perCycle) {
        // Not even one more average cycle fits today: the next runs after Marketo's day turns.
        waitMs = Math.max(waitMs, toReset + 60_000);
        status.intervalReason = `daily budget of ${dailyCallBudget} calls spent (${quota.callsToday} today): waiting for the reset`;
      } else if (perCycle > 0) {
        const stretched = Math.ceil(toReset / (left / perCycle));
        if (stretched > waitMs) {
          waitMs = stretched;
          status.intervalReason = `stretched to keep ${quota.callsToday} calls today plus ~${perCycle.toFixed(1)} a cycle under the daily budget of ${dailyCallBudget}`;
        }
      }
    }
    effectiveIntervalMs = waitMs;
    if (state.lastCycleEndMs !== undefined) status.nextRunAt = iso(state.lastCycleEndMs + waitMs);
  }

  /** Holds before a step while paused; false when a stop came meanwhile. */
  async function checkpoint(): Promise<boolean> {
    if (state.paused && !stopRequested) {
      const before = status.state;
      status.state = 'paused';
      mark();
      await condition(() => !state.paused || stopRequested);
      status.state = before;
      mark();
    }
    return !stopRequested || !state.paused;
  }

  async function refreshSchemaIfDue(): Promise<{ refreshed: boolean; calls: number }> {
    const byCadence = state.schemaFingerprint === undefined || state.schemaRefreshedAtCycle === undefined || state.cycles - state.schemaRefreshedAtCycle >= schemaEvery;
    // Marketo refused a mapped field last cycle: describe now rather than at the cadence. Runs
    // recorded before this rule replay without the extra refresh (no step reported drift then).
    const afterDrift = !byCadence && state.schemaDriftSeen === true && patched('schema-refresh-after-drift');
    if (!byCadence && !afterDrift) return { refreshed: false, calls: 0 };
    status.step = { seed: 0, activity: 'refreshMarketoSchema', run: 1 };
    const summary = await withQuotaPause(() => schema.refreshMarketoSchema(), onQuota);
    const changed = summary.fingerprint !== state.schemaFingerprint;
    state.schemaFingerprint = summary.fingerprint;
    state.schemaRefreshedAtCycle = state.cycles;
    delete state.schemaDriftSeen;
    if (changed) {
      const check = await bookkeeping.checkMappingAgainstSchema();
      state.mappingWarnings = check.warnings;
      state.mappingErrors = check.errors;
    }
    return { refreshed: true, calls: summary.apiCalls };
  }

  function onQuota(pause: { resetAt: string; reason: string } | undefined): void {
    if (pause) {
      status.state = 'quota-paused';
      mark();
      status.quotaPause = pause;
    } else {
      status.state = 'running';
      mark();
      delete status.quotaPause;
    }
  }

  async function runCycle(available: readonly string[]): Promise<void> {
    state.cycles += 1;
    const number = state.cycles;
    status.state = 'running';
    mark();
    delete status.nextRunAt;
    show();
    const startedMs = Date.now();
    const { historyId } = await bookkeeping.beginCycle();
    const figures: StepFigures[] = [];
    let apiCalls = 0;
    let schemaRefreshed = false;
    let error: string | undefined;
    try {
      const refresh = await refreshSchemaIfDue();
      schemaRefreshed = refresh.refreshed;
      apiCalls += refresh.calls;
      for (const spec of CYCLE_STEPS) {
        if (!available.includes(spec.activity)) continue;
        const f: StepFigures = { seed: spec.seed, step: spec.activity, runs: 0, read: 0, written: 0, skipped: 0, calls: 0 };
        figures.push(f);
        for (;;) {
          if (!(await checkpoint())) throw new Error(`stopped by operator while paused before step ${spec.seed} (${spec.activity})`);
          status.step = { seed: spec.seed, activity: spec.activity, run: f.runs + 1 };
          // The pull records the conflicts it settles under the cycle's history id; push steps take no input.
          const r = await withQuotaPause(() => (spec.direction === 'toCrm' ? steps[spec.activity]!({ cycleId: historyId }) : steps[spec.activity]!()), onQuota);
          f.runs += 1;
          f.read += r.read;
          f.written += r.written;
          f.skipped += r.skipped;
          f.calls += r.calls;
          apiCalls += r.calls;
          if (r.mode && r.mode !== 'none') f.mode = r.mode;
          if (r.disabled) f.disabled = true;
          for (const key of ['conflicts', 'echoes', 'converted', 'companiesScanned', 'schemaDrift'] as const) if (r[key]) f[key] = (f[key] ?? 0) + r[key];
          if (r.schemaDrift) state.schemaDriftSeen = true;
          if (r.retention) f.retention = r.retention;
          if (!r.hasMore || f.runs >= maxStepRuns) break;
        }
      }
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => closeCycle('failed', 'workflow cancelled'));
        throw err;
      }
      error = errorMessage(err);
      if (isSchemaDrift(err)) state.schemaDriftSeen = true;
    }
    await closeCycle(error === undefined ? 'succeeded' : 'failed', error);

    async function closeCycle(outcome: 'succeeded' | 'failed', why?: string): Promise<void> {
      delete status.step;
      const close = await bookkeeping.finishCycle({ historyId, outcome, apiCalls, steps: figures, ...(why === undefined ? {} : { error: why }) });
      const endMs = Date.now();
      const conflicts = figures.reduce((n, f) => n + (f.conflicts ?? 0), 0);
      const cycle: CycleFigures = {
        number,
        historyId,
        startedAt: iso(startedMs),
        finishedAt: iso(endMs),
        durationMs: endMs - startedMs,
        outcome,
        apiCalls,
        schemaRefreshed,
        steps: figures,
        ...(conflicts > 0 ? { conflicts } : {}),
        ...(why === undefined ? {} : { error: why }),
      };
      state.lastCycle = cycle;
      state.lastCycleEndMs = endMs;
      if (outcome === 'failed') state.lastFailure = { number, at: cycle.finishedAt, error: why ?? 'failed' };
      state.recentCycleCalls = [...state.recentCycleCalls, apiCalls].slice(-RECENT_CYCLES);
      status.watermarks = close.watermarks;
      status.quota = close.quota;
      planNextRun();
      show();
    }
  }

  /** Waits for the next run: the planned time, `syncNow`, or a stop; holds while paused. */
  async function waitForNextRun(): Promise<void> {
    for (;;) {
      if (stopRequested) return;
      if (state.paused) {
        status.state = 'paused';
        mark();
        await condition(() => !state.paused || stopRequested);
        continue;
      }
      if (state.syncNowPending) {
        state.syncNowPending = false;
        return;
      }
      const dueMs = state.lastCycleEndMs === undefined ? 0 : state.lastCycleEndMs + effectiveIntervalMs - Date.now();
      if (dueMs <= 0) return;
      status.state = 'sleeping';
      mark();
      const seen = wake;
      await condition(() => wake !== seen, dueMs);
    }
  }

  const prep = await bookkeeping.prepareSyncLoop(input.since === undefined ? {} : { since: input.since });
  state.startedFrom ??= prep.startedFrom;
  status.unavailableSteps = CYCLE_STEPS.map((s) => s.activity).filter((a) => !prep.availableSteps.includes(a));
  const position = await bookkeeping.syncPosition();
  status.watermarks = position.watermarks;
  status.quota = position.quota;
  // After continue-as-new the wait goes on from the carried end of the last cycle.
  planNextRun();
  show();

  let cyclesThisRun = 0;
  while (state.cycles < maxCycles) {
    await waitForNextRun();
    if (stopRequested) break;
    await runCycle(prep.availableSteps);
    cyclesThisRun += 1;
    if (stopRequested || state.cycles >= maxCycles) break;
    if (cyclesThisRun >= cyclesPerRun || workflowInfo().continueAsNewSuggested) {
      // An update being handled must answer before this run ends.
      await condition(allHandlersFinished);
      const next: SyncLoopInput = { ...input, intervalSeconds, carried: { ...state } };
      return continueAsNew<typeof syncLoop>(next);
    }
  }
  status.state = 'stopped';
  mark();
  delete status.nextRunAt;
  await condition(allHandlersFinished);
  return { cycles: state.cycles, ...(state.lastCycle ? { lastCycle: state.lastCycle } : {}) };
}
