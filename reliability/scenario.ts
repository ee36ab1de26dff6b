import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../emulator/index.js';
import { bulkService } from '../emulator/bulk/service.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { MarketoClient } from '../src/marketo/index.js';
import { StateStore } from '../src/store/state-store.js';
import { createBootstrapActivities } from '../activities/bootstrap.js';
import { createActivities } from '../workers/activities.js';
import { SEED_CUSTOM_OBJECT } from '../emulator/seed.js';
import { MappingConfig } from '../src/mapping/mapping-config.js';
import { suggestMapping } from '../src/mapping/suggest.js';
import { ReconcileContext } from '../src/reconcile/context.js';
import type { Host, TestDb } from './stack.js';
import { WorkerEnv } from './worker-env.js';
import { purchaseMappingEntity } from '../test/support/purchase-mapping.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Credentials of the emulated LaunchPoint service: the security suite looks for them in logs. */
export const MARKETO_CLIENT_ID = 'reliability-client-id';
export const MARKETO_CLIENT_SECRET = 'reliability-client-secret-7f3c9a1e5b';
/**
 * Marketo's 100 calls / 20 s window scaled to 2 s (same ratio), so a 606 costs the client a 2 s
 * wait instead of 20 s; the client is told the same window.
 */
export const RATE_WINDOW_MS = 2_000;

/**
 * The marketing data every scenario seeds beside its leads (the emulator's seed): the lead-linked
 * custom object type `purchase_c` with one record per 50 leads (at least one), 6 programs (members with progression
 * statuses, each a Change Status in Progression activity) and 3 static lists (each member an Add to
 * List activity), each holding 3 % of the leads. Small beside the leads (2,000 leads: 40 purchases,
 * 6 × 60 program members, 3 × 60 list members), growing with them, so faults meet every phase.
 */
export const MARKETING_SEED = { customObjectsPerLead: 1 / 50, programs: 6, lists: 3, membershipRate: 0.03 } as const;
/** The seeded custom object type, the CRM entity the scenario's mapping loads it into, and the table the phase provisions. */
/** The seeded custom object type and where `purchaseMappingEntity` loads it. */
export const CUSTOM_OBJECT = { apiName: SEED_CUSTOM_OBJECT, crm: 'custom:purchase', table: 'co_purchase' } as const;

export interface ScenarioOptions {
  leads: number;
  /** Seeded createdAt range of the leads. */
  from: string;
  to: string;
  emulator?: Omit<EmulatorOptions, 'seed' | 'clientId' | 'clientSecret'>;
  /** Rows per CRM write and heartbeat of the in-process worker's download (production: 1,000). */
  batchSize?: number;
}

/** A running worker: in this process, or a child process that can be killed and whose output is kept. */
export interface WorkerHandle {
  readonly pid: number | undefined;
  /** Output so far (child processes only; in-process workers log to this process). */
  output(): string;
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  stop(): Promise<void>;
  /** True once the worker has ended, whatever ended it. */
  exited(): boolean;
}

/**
 * One case's world: a seeded emulator, a database of its own holding the CRM and the state
 * store, the sync's Marketo client, and a task queue of its own on the stack's Temporal.
 */
export class Scenario {
  private readonly workers: WorkerHandle[] = [];
  readonly taskQueue = `reliability-${Math.random().toString(36).slice(2, 10)}`;

  private constructor(
    readonly host: Host,
    readonly emulator: RunningEmulator,
    readonly db: TestDb,
    readonly store: StateStore,
    readonly crm: PostgresCrmConnector,
    readonly marketo: MarketoClient,
    private readonly batchSize: number | undefined,
  ) {}

  static async open(host: Host, opts: ScenarioOptions): Promise<Scenario> {
    const emulator = await startEmulator({
      ...opts.emulator,
      clientId: MARKETO_CLIENT_ID,
      clientSecret: MARKETO_CLIENT_SECRET,
      limits: { rateWindowMs: RATE_WINDOW_MS, ...opts.emulator?.limits },
      seed: {
        leads: opts.leads, from: opts.from, to: opts.to,
        customObjects: opts.leads > 0 ? Math.max(1, Math.floor(opts.leads * MARKETING_SEED.customObjectsPerLead)) : 0,
        programs: MARKETING_SEED.programs, lists: MARKETING_SEED.lists, membershipRate: MARKETING_SEED.membershipRate,
      },
    });
    const db = await host.createDatabase('rel');
    const store = await StateStore.open({ connectionString: db.url });
    const crm = await PostgresCrmConnector.open({ connectionString: db.url });
    const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: MARKETO_CLIENT_ID, clientSecret: MARKETO_CLIENT_SECRET, limits: { windowMs: RATE_WINDOW_MS } });
    return new Scenario(host, emulator, db, store, crm, marketo, opts.batchSize);
  }

  /**
   * Makes the saved mapping load the seeded custom object type (`customObject:purchase_c` ⇄
   * `custom:purchase`): the mapping already saved (a case may have saved its own), else the one
   * suggested from every describe. The custom objects phase loads only types the saved mapping
   * enables, and provisions their table itself.
   */
  async mapCustomObject(): Promise<void> {
    const saved = (await this.store.mappings.current())?.config;
    if (saved?.entities.some((e) => e.marketo === `customObject:${CUSTOM_OBJECT.apiName}`)) return;
    const config = saved ?? suggestMapping(await new ReconcileContext({ marketo: this.marketo, crm: this.crm }, 0, false).schemas(), await this.crm.describe());
    config.entities.push(purchaseMappingEntity());
    await this.store.mappings.save(MappingConfig.parse(config), { author: 'reliability', comment: `load ${CUSTOM_OBJECT.apiName} into ${CUSTOM_OBJECT.crm}` });
  }

  /** Removes every injected fault (call rules and bulk switches), e.g. before checking the result. */
  clearFaults(): void {
    this.emulator.runtime.faults.clear();
    const bulk = bulkService(this.emulator.subscription);
    Object.assign(bulk.faults, { breakDownloads: 0, queueFull: 0, corruptDownloads: 0, malformedRows: 0, invalidUtf8Rows: 0 });
    bulk.exports.failNext = 0;
    bulk.imports.failNext = 0;
  }

  /** Counted Marketo calls per error code over the whole run (the emulator's own counters). */
  errorCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of Object.values(this.emulator.runtime.stats.snapshot().endpoints)) {
      for (const [code, n] of Object.entries(e.errors)) out[code] = (out[code] ?? 0) + n;
    }
    return out;
  }

  async startWorker(mode: 'in-process' | 'process' = 'in-process'): Promise<WorkerHandle> {
    const handle = mode === 'process' ? await this.spawnWorker() : await this.inProcessWorker();
    this.workers.push(handle);
    return handle;
  }

  /** The download activity with smaller batches, so heartbeats (resume points) fall inside small files. */
  private smallerBatches(deps: Parameters<typeof createActivities>[0]) {
    if (this.batchSize === undefined) return {};
    return { ingestBulkExport: createBootstrapActivities({ ...deps, batchSize: this.batchSize }).ingestBulkExport };
  }

  private async inProcessWorker(): Promise<WorkerHandle> {
    const deps = { marketo: this.marketo, store: this.store, crm: this.crm };
    const connection = await NativeConnection.connect({ address: this.host.temporalAddress });
    const worker = await Worker.create({
      connection,
      taskQueue: this.taskQueue,
      workflowBundle: { codePath: this.host.bundlePath },
      activities: { ...createActivities(deps), ...this.smallerBatches(deps) },
      maxConcurrentActivityTaskExecutions: 20,
    });
    const running = worker.run();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    };
    return { pid: undefined, output: () => '', kill: stop, stop, exited: () => stopped };
  }

  private async spawnWorker(): Promise<WorkerHandle> {
    const env: WorkerEnv = WorkerEnv.parse({
      TEMPORAL_ADDRESS: this.host.temporalAddress,
      TASK_QUEUE: this.taskQueue,
      MARKETO_URL: this.emulator.url,
      MARKETO_CLIENT_ID,
      MARKETO_CLIENT_SECRET,
      MARKETO_WINDOW_MS: RATE_WINDOW_MS,
      DATABASE_URL: this.db.url,
      WORKFLOW_BUNDLE: this.host.bundlePath,
    });
    // Node itself with tsx as a loader: SIGKILL must reach the worker, not a wrapper around it.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'reliability/worker-process.ts'], {
      cwd: root,
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`worker exited early (${code}): ${output.slice(-2000)}`));
      child.once('exit', onExit);
      const check = () => {
        if (output.includes('worker ready')) {
          child.off('exit', onExit);
          resolve();
        } else setTimeout(check, 50);
      };
      check();
    });
    const kill = async (signal: 'SIGKILL' | 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    };
    return { pid: child.pid, output: () => output, kill, stop: () => kill('SIGTERM'), exited: () => child.exitCode !== null || child.signalCode !== null };
  }

  async close(): Promise<void> {
    for (const w of this.workers) await w.stop().catch(() => undefined);
    await this.store.close();
    await this.crm.close();
    await this.db.drop().catch(() => undefined);
    await this.emulator.close();
  }
}
