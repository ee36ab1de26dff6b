import { execFile as execFileCb, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

/** A Postgres cluster this process started (or found running) in a folder of its own. */
export interface LocalPostgres {
  url: string;
  dataDir: string;
  port: number;
  /** False when a cluster was already running in dataDir and was only reused. */
  startedHere: boolean;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  dataDir: string;
  /** Fixed port; by default a free one is picked (or the one a running cluster in dataDir uses). */
  port?: number;
  binDir?: string;
  log?: (line: string) => void;
}

/** Finds initdb/pg_ctl: PG_BIN_DIR, then the newest /usr/lib/postgresql/N/bin, then PATH. */
export function findPostgresBinDir(): string | undefined {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// Postgres refuses to run as root, and CI runs as root: run its tools as the `postgres` user then.
function asPgUser(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ['runuser', ['-u', 'postgres', '--', bin, ...args]];
  return [bin, args];
}

async function run(bin: string, args: string[]): Promise<string> {
  const [cmd, argv] = asPgUser(bin, args);
  try {
    const { stdout } = await execFile(cmd, argv, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function readRunningPort(dataDir: string): Promise<number | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Makes sure a Postgres cluster runs in `dataDir` (creating it with initdb on first use) and
 * returns its URL. Trust authentication on 127.0.0.1 only: this is for tests and the local demo.
 */
export async function ensureLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const binDir = opts.binDir ?? findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL binaries not found: install PostgreSQL or set PG_BIN_DIR or DATABASE_URL');
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.log ?? (() => undefined);
  const isRoot = process.getuid?.() === 0;
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // Parents keep the default mode: as root, the `postgres` user must be able to traverse them.
    mkdirSync(path.dirname(dataDir), { recursive: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (isRoot) await chownToPostgres(dataDir);
    log(`initdb ${dataDir}`);
    await run(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  } else if (isRoot) {
    await chownToPostgres(dataDir);
  }
  let port = opts.port;
  const status = await execStatus(binDir, dataDir);
  const startedHere = status !== 'running';
  if (!startedHere) {
    port = (await readRunningPort(dataDir)) ?? port;
  } else {
    port ??= await freePort();
    log(`pg_ctl start on port ${port}`);
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dataDir} -c fsync=off -c max_connections=200`;
    await run(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-o', options, '-l', path.join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);
  }
  if (!port) throw new Error(`cannot tell the port of the Postgres running in ${dataDir}`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    port,
    startedHere,
    stop: async () => {
      await run(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
  };
}

async function execStatus(binDir: string, dataDir: string): Promise<'running' | 'stopped'> {
  const [cmd, argv] = asPgUser(path.join(binDir, 'pg_ctl'), ['-D', dataDir, 'status']);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code === 0 ? 'running' : 'stopped'));
    child.on('error', () => resolve('stopped'));
  });
}

async function chownToPostgres(dir: string): Promise<void> {
  const { stdout } = await execFile('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFile('id', ['-g', 'postgres']);
  await chown(dir, Number(stdout.trim()), Number(gid.trim()));
}
