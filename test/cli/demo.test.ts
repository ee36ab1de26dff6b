import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/services/local-postgres.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');

interface DemoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a demo as a user starts it: no configuration but its own data folder and ports. */
function demoEnv(dataDir: string, ports: { temporal: number; ui: number; postgres: number }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    EMBEDDED_TEMPORAL_PORT: String(ports.temporal),
    EMBEDDED_TEMPORAL_UI_PORT: String(ports.ui),
    EMBEDDED_POSTGRES_PORT: String(ports.postgres),
    ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
    // The workflow code the suite bundled once (test/support/global-setup.mjs): no webpack run in the demo.
    ...(process.env.MARKETO_SYNC_WORKFLOW_BUNDLE ? { MARKETO_SYNC_WORKFLOW_BUNDLE: process.env.MARKETO_SYNC_WORKFLOW_BUNDLE } : {}),
  };
}

function runDemo(args: string[], env: NodeJS.ProcessEnv): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    execFile(tsx, ['client/cli.ts', 'demo', ...args], { cwd: root, env, timeout: 420_000, maxBuffer: 16 * 1024 * 1024 }, (err, out, errOut) =>
      err && typeof err.code !== 'number' ? reject(new Error(`${err.message}\n${errOut}`)) : resolve({ code: err ? (err.code as number) : 0, stdout: out, stderr: errOut }),
    );
  });
}

/**
 * A demo stopped with Ctrl-C once its bootstrap has started: SIGINT to its whole process group (the
 * CLI and the dev server it started), as a terminal sends it. One node process with tsx's loader, as
 * `node dist/client/cli.js` runs: the tsx wrapper SIGKILLs a child that does not acknowledge a
 * relayed signal within 30 ms, which a loaded machine misses (docs/operations.md).
 */
function interruptDemo(args: string[], env: NodeJS.ProcessEnv, when: RegExp): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'demo', ...args], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && when.test(stdout)) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

function withStory<T>(run: DemoRun, check: () => T): T {
  // On a failure the message carries the demo's own story: its DIFFERENT lines list the keys.
  try {
    return check();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n--- marketo-sync demo stdout ---\n${run.stdout}\n--- stderr (last 4000 characters) ---\n${run.stderr.slice(-4000)}`);
  }
}

// The main job as a user runs it: a spawned `marketo-sync demo`, no configuration but its own
// data folder and ports, so it cannot collide with a demo already running on this machine. It must
// tell the whole story and end with zero reconciliation differences (exit 0); then, on the same
// data folder, a new story (--fresh) interrupted with Ctrl-C during its bootstrap must end cleanly,
// and the next start resume it: same Marketo (the emulator's state file under DATA_DIR), the
// interrupted bootstrap finished by the worker, the story run again, zero differences.
test('marketo-sync demo runs the product end to end on the embedded default and reconciles to zero differences, again after a Ctrl-C', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-demo-'));
  chmodSync(dataDir, 0o755); // as root, Postgres runs as `postgres` and must traverse it
  const ports = { temporal: await freePort(), ui: await freePort(), postgres: await freePort() };
  const env = demoEnv(dataDir, ports);
  try {
    const first = await runDemo(['--leads', '100'], env);
    withStory(first, () => {
      // The story, step by step.
      expect(first.stdout).toMatch(/lead\s+\d+ fields/);
      expect(first.stdout).toMatch(/leads\s+100 written, 0 failed/);
      expect(first.stdout).toMatch(/Marketo: 3 leads edited, 2 created; CRM: 2 contacts edited, 1 created/);
      expect(first.stdout).toMatch(/cycle \d+: succeeded/);
      expect(first.stdout).not.toMatch(/last cycle failed/);
      expect(first.stdout).toMatch(/lead \d+: HTTP 200, workflow on-demand-\d+, in the CRM after \d+ ms/);
      expect(first.stdout).toMatch(/API calls made by the client: \d+ of 50000/);
      expect(first.stdout).toMatch(/calls the emulated Marketo counted against its quota: \d+/);
      expect(first.stdout).toContain(`Temporal Web UI: http://127.0.0.1:${ports.ui}`);
      // A fresh data folder has nothing of an earlier demo to clear.
      expect(first.stdout).not.toMatch(/previous demo/);
      // The acceptance: both sides identical after the run.
      expect({ code: first.code, reconciliation: /reconciliation: (.*)/.exec(first.stdout)?.[1] }).toEqual({ code: 0, reconciliation: expect.stringMatching(/^zero differences/) });
      expect(first.stderr).not.toMatch(/Activity failed/);
      // Not a terminal here: the bootstrap's progress comes as lines per phase as it moves, not at the end.
      expect(first.stderr).toMatch(/^ {2}leads {12}\d+\/\d+ windows \| \d+ records \| .* \| \d+ calls \| running$/m);
      expect(first.stderr).toMatch(/^ {2}leads {12}(\d+)\/\1 windows \| 100 records \| .* \| done$/m);
    });

    // Ctrl-C during the bootstrap: the demo's own message and exit 1, not a stack trace; the
    // embedded Postgres it started is stopped (its pid file is gone).
    const stopped = await interruptDemo(['--fresh', '--leads', '30', '--cycles', '1'], env, /2\. Bootstrap/);
    withStory(stopped, () => {
      expect(stopped.stdout).toMatch(/previous demo's CRM and sync state cleared \(schemas crm, sync_state\): a new story/);
      expect(stopped.stderr).toMatch(/marketo-sync: interrupted: the worker shut down before the demo finished/);
      expect(stopped.stderr).not.toMatch(/Channel has been shut down|^\s+at /m);
      expect(stopped.code).toBe(1);
      expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    });

    // The next start resumes: the same 30-lead Marketo (--leads is for new stories), nothing cleared,
    // the interrupted bootstrap finished by this worker, the story again on top, zero differences.
    const again = await runDemo(['--leads', '500', '--cycles', '1'], env);
    withStory(again, () => {
      expect(again.stdout).toMatch(/resuming the last demo: the Marketo emulator's state is kept in .*emulator\/state\.json \(30 leads;/);
      expect(again.stdout).not.toMatch(/previous demo/);
      expect(again.stdout).toMatch(/Resuming the last demo's unfinished workflows on this worker: .*demo-bootstrap-/);
      expect(again.stdout).toMatch(/ {3}demo-bootstrap-\S+: completed/);
      expect(again.stdout).toMatch(/leads\s+30 written, 0 failed/);
      expect({ code: again.code, reconciliation: /reconciliation: (.*)/.exec(again.stdout)?.[1] }).toEqual({ code: 0, reconciliation: expect.stringMatching(/^zero differences/) });
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 900_000);
