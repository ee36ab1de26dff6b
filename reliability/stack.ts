import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { ensureLocalPostgres, freePort, type LocalPostgres } from '../src/services/local-postgres.js';
import { ensureTemporalDevServer, type TemporalDevServer } from '../src/services/temporal-dev-server.js';
import { WORKFLOW_BUNDLE_ENV, workflowsPath } from '../workers/worker.js';

/**
 * The services every case runs on: Postgres (the suite's own cluster, so it can be restarted, or
 * a given URL), a Temporal dev server with a SQLite state file (restartable from that file), a
 * client, and the workflow code bundled once so workers start in a second.
 */
export interface StackOptions {
  /** Folder for the Postgres cluster, the Temporal state file, the bundle and the logs. */
  dataDir: string;
  /** Use this Postgres (e.g. jest's) instead of starting one; it cannot be restarted then. */
  postgresUrl?: string;
  log?: (line: string) => void;
}

export interface TestDb {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** What a case needs from its Temporal and Postgres (the stack, or a time-skipping server beside it). */
export interface Host {
  client: Client;
  temporalAddress: string;
  bundlePath: string;
  createDatabase(prefix: string): Promise<TestDb>;
}

export class Stack implements Host {
  private temporal: TemporalDevServer;
  private connection: Connection;
  client: Client;

  private constructor(
    readonly options: StackOptions,
    private postgres: LocalPostgres | undefined,
    readonly postgresUrl: string,
    temporal: TemporalDevServer,
    private readonly temporalPorts: { port: number; uiPort: number },
    connection: Connection,
    readonly bundlePath: string,
  ) {
    this.temporal = temporal;
    this.connection = connection;
    this.client = new Client({ connection });
  }

  static async start(options: StackOptions): Promise<Stack> {
    const log = options.log ?? (() => undefined);
    mkdirSync(options.dataDir, { recursive: true });
    // As root, Postgres runs as the `postgres` user, which must be able to enter the folder (mkdtemp makes it 0700).
    chmodSync(options.dataDir, 0o755);
    let postgres: LocalPostgres | undefined;
    let postgresUrl = options.postgresUrl;
    if (!postgresUrl) {
      postgres = await ensureLocalPostgres({ dataDir: path.join(options.dataDir, 'postgres'), log });
      postgresUrl = postgres.url;
    }
    const ports = { port: await freePort(), uiPort: await freePort() };
    const temporal = await ensureTemporalDevServer({ dataDir: path.join(options.dataDir, 'temporal'), ...ports, log });
    const connection = await Connection.connect({ address: temporal.address });
    // Under jest the suite's global setup has bundled this run's workflow code already.
    let bundlePath = process.env[WORKFLOW_BUNDLE_ENV];
    if (!bundlePath || !existsSync(bundlePath)) {
      log('bundling the workflow code');
      const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietBundlerLogger });
      bundlePath = path.join(options.dataDir, 'workflow-bundle.js');
      writeFileSync(bundlePath, code);
    }
    return new Stack(options, postgres, postgresUrl, temporal, ports, connection, bundlePath);
  }

  get temporalAddress(): string {
    return this.temporal.address;
  }

  get canRestartPostgres(): boolean {
    return this.postgres !== undefined;
  }

  /** A fresh database on the stack's Postgres (each case has its own CRM and state store). */
  async createDatabase(prefix: string): Promise<TestDb> {
    const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    await this.adminQuery(`CREATE DATABASE "${name}"`);
    const url = new URL(this.postgresUrl);
    url.pathname = `/${name}`;
    return { url: url.toString(), name, drop: () => this.adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
  }

  private async adminQuery(sql: string): Promise<void> {
    const c = new pg.Client({ connectionString: this.postgresUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }

  /**
   * Kills the Temporal dev server with SIGKILL and starts it again on the same port from its
   * SQLite file: workflows, timers and activity attempts must survive.
   */
  async crashTemporal(): Promise<void> {
    const child = this.temporal.process;
    if (!child) throw new Error('the Temporal server was not started by this stack');
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.temporal = await ensureTemporalDevServer({ dataDir: path.join(this.options.dataDir, 'temporal'), ...this.temporalPorts, log: this.options.log });
  }

  /** Stops Postgres (fast shutdown: every connection is cut) and starts it again on its port. */
  async restartPostgres(): Promise<void> {
    const current = this.postgres;
    if (!current) throw new Error('Postgres was given by URL; only a cluster the stack started can be restarted');
    await current.stop();
    this.postgres = await ensureLocalPostgres({ dataDir: current.dataDir, port: current.port, log: this.options.log });
  }

  async close(): Promise<void> {
    await this.connection.close();
    await this.temporal.stop();
    if (this.postgres?.startedHere) await this.postgres.stop();
  }
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
