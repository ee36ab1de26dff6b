import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { createDevServerEnv } from '../support/temporal.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `marketo-sync <args>` as a user runs it: a spawned process, only the given environment, its real exit code. */
export function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 90_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      tsx,
      ['client/cli.ts', ...args],
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`));
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** The one JSON document a `--json` run prints on stdout. */
export function json<T = unknown>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** What a spawned CLI needs around it: a dev server, an emulator, a database and a data folder. */
export interface CliStack {
  env: TestWorkflowEnvironment;
  emulator: RunningEmulator;
  db: TestDatabase;
  dir: string;
}

export async function startCliStack(name: string, marketo: { clientId: string; clientSecret: string; leads: number }): Promise<CliStack> {
  const env = await createDevServerEnv();
  const emulator = await startEmulator({ clientId: marketo.clientId, clientSecret: marketo.clientSecret, seed: { leads: marketo.leads } });
  const db = await createTestDatabase(name);
  const dir = mkdtempSync(path.join(os.tmpdir(), `marketo-sync-${name}-`));
  return { env, emulator, db, dir };
}

/** Tears down what `startCliStack` started; parts a failed start never made are skipped. */
export async function stopCliStack(stack: Partial<CliStack>): Promise<void> {
  await stack.env?.teardown();
  await stack.emulator?.close();
  await stack.db?.drop();
  if (stack.dir) rmSync(stack.dir, { recursive: true, force: true });
}

