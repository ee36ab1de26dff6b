import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import type { SyncMetrics } from '../src/observability/metrics.js';
import { MARKETO_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { createActivities, type ActivityDeps } from './activities.js';

/**
 * The workflows entry file next to this module: `.ts` when running from source (tests, tsx),
 * `.js` when running the build. Temporal bundles it for the workflow sandbox.
 */
export function workflowsPath(): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  const file = fileURLToPath(new URL(`../workflows/index${ext}`, import.meta.url));
  if (!existsSync(file)) throw new Error(`workflow entry not found at ${file}`);
  return file;
}

/**
 * Names a file holding the workflow code already bundled (bundleWorkflowCode's `code`). Set, every
 * worker in the process loads that file instead of bundling the workflows with webpack at start
 * (seconds of CPU each time): the test suite bundles once per run in its global setup. Unset, as in
 * production, the worker bundles workflowsPath() itself.
 */
export const WORKFLOW_BUNDLE_ENV = 'MARKETO_SYNC_WORKFLOW_BUNDLE';

/** Worker.create's and Worker.runReplayHistory's source of workflow code. */
export type WorkflowCode = { workflowBundle: { codePath: string } } | { workflowsPath: string };

/** The prebuilt bundle when one is named (argument, else WORKFLOW_BUNDLE_ENV), else the entry file. */
export function workflowCode(bundlePath: string | undefined = process.env[WORKFLOW_BUNDLE_ENV]): WorkflowCode {
  if (!bundlePath) return { workflowsPath: workflowsPath() };
  // A named bundle that is gone must not silently fall back to different code.
  if (!existsSync(bundlePath)) throw new Error(`workflow bundle not found at ${bundlePath} (${WORKFLOW_BUNDLE_ENV})`);
  return { workflowBundle: { codePath: bundlePath } };
}

/**
 * Bundles workflowsPath() into `file`, for WORKFLOW_BUNDLE_ENV or workflowCode(file): one webpack
 * run shared by every worker and replay that loads it. The bundler's progress lines are dropped,
 * its warnings and errors go to `log`.
 */
export async function writeWorkflowBundle(file: string, log: (line: string) => void = (line) => console.error(line)): Promise<string> {
  const report = (message: string) => log(`workflow bundler: ${message}`);
  const quiet = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: report, error: report },
  });
  writeFileSync(file, code);
  return file;
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * Activities in flight in this process. Marketo allows 10 concurrent calls per subscription,
   * and the client's limiter queues beyond its own cap, so this bounds memory, not Marketo load.
   */
  maxConcurrentActivities?: number;
  /** Activity timings and failures by code go here (the worker's /metrics). */
  metrics?: SyncMetrics;
  /** Register the MarketoSync* search attributes if the namespace lacks them (default true). */
  registerSearchAttributes?: boolean;
  log?: (line: string) => void;
  /** A prebuilt workflow bundle file; default: WORKFLOW_BUNDLE_ENV's, else bundle at start. */
  workflowBundlePath?: string;
  /** Workflow-side limits and caches, over this module's defaults (WORKFLOW_TUNING). */
  tuning?: WorkflowTuning;
}

/** The worker settings that set how many workflow tasks and local activities a worker carries at once. */
export type WorkflowTuning = Partial<
  Pick<
    WorkerOptions,
    | 'maxConcurrentWorkflowTaskExecutions'
    | 'maxConcurrentLocalActivityExecutions'
    | 'maxConcurrentWorkflowTaskPolls'
    | 'nonStickyToStickyPollRatio'
    | 'workflowTaskPollerBehavior'
    | 'maxCachedWorkflows'
    | 'workflowThreadPoolSize'
    | 'reuseV8Context'
  >
>;

/**
 * SDK defaults unless a measurement showed better (docs/webhook.md, benchmark). The SDK gives the
 * normal task queue 2 of its 10 workflow task pollers and the sticky queue 8, which suits few
 * long-lived workflows; an on-demand run is one-shot, and a new run's first (usually only) task
 * comes only from the normal queue, where 2 pollers made runs wait for pick-up (p50 0.31-0.37 s,
 * p99 1.6-2.1 s under a 20-connection burst vs 0.12-0.17 s and 0.5-1.2 s with this ratio). The
 * sticky queue keeps one poller, enough for the few long-lived runs (bootstrap, sync loop).
 */
export const WORKFLOW_TUNING: WorkflowTuning = { nonStickyToStickyPollRatio: 1 };

/** Temporal's protobuf IndexedValueType: INDEXED_VALUE_TYPE_KEYWORD. */
const INDEXED_KEYWORD = 2;

/**
 * Adds the search attributes the workflows upsert, when missing: a workflow upserting an unknown
 * attribute fails its workflow task, so they must exist before the first one runs. The dev server
 * and self-hosted clusters allow this; on Temporal Cloud the call is refused and the attributes
 * are created once with tcld or the Cloud UI (docs/operations.md), so a refusal is only reported.
 */
export async function ensureSearchAttributes(connection: NativeConnection, namespace: string, log: (line: string) => void = () => undefined): Promise<string[]> {
  // A server without the operator service (the time-skipping test server) must not hold up the worker.
  const deadline = () => Date.now() + 5_000;
  try {
    const existing = await connection.withDeadline(deadline(), () => connection.operatorService.listSearchAttributes({ namespace }));
    const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
    const missing = MARKETO_SEARCH_ATTRIBUTES.filter((a) => !known.has(a.name));
    if (missing.length === 0) return [];
    await connection.withDeadline(deadline(), () =>
      connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((a) => [a.name, INDEXED_KEYWORD])),
      }),
    );
    log(`registered search attributes ${missing.map((a) => a.name).join(', ')} on namespace '${namespace}'`);
    return missing.map((a) => a.name);
  } catch (err) {
    log(`could not register search attributes on namespace '${namespace}' (${(err as Error).message}); create MarketoSyncKind and MarketoSyncState (Keyword) there`);
    return [];
  }
}

/** Marketo's code when the failure carries one (details of toActivityFailure), else the failure type. */
function failureCode(err: unknown): string {
  if (err instanceof ApplicationFailure) {
    const detail = err.details?.[0] as { code?: unknown } | undefined;
    if (detail && (typeof detail.code === 'string' || typeof detail.code === 'number')) return String(detail.code);
    return err.type ?? 'ApplicationFailure';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return err instanceof Error ? err.name : 'unknown';
}

function metricsInterceptor(metrics: SyncMetrics): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result = await next(input);
          metrics.observeActivity(ctx.info.activityType, seconds(), 'ok');
          return result;
        } catch (err) {
          metrics.observeActivity(ctx.info.activityType, seconds(), 'failed', failureCode(err));
          throw err;
        }
      },
    },
  });
}

export async function createSyncWorker(opts: SyncWorkerOptions): Promise<Worker> {
  const namespace = opts.namespace ?? 'default';
  if (opts.registerSearchAttributes ?? true) await ensureSearchAttributes(opts.connection, namespace, opts.log);
  return Worker.create({
    connection: opts.connection,
    namespace,
    taskQueue: opts.taskQueue,
    ...workflowCode(opts.workflowBundlePath),
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 20,
    ...WORKFLOW_TUNING,
    ...opts.tuning,
    ...(opts.metrics ? { interceptors: { activity: [metricsInterceptor(opts.metrics)] } } : {}),
  });
}
