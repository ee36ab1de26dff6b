import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/services/local-postgres.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// The main job as a user runs it: a spawned `marketo-sync demo`, no configuration but its own
// data folder and ports, so it cannot collide with a demo already running on this machine.
test('marketo-sync demo runs the stack end to end on the embedded default', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-demo-'));
  chmodSync(dataDir, 0o755); // as root, Postgres runs as `postgres` and must traverse it
  const [temporalPort, postgresPort] = [await freePort(), await freePort()];
  try {
    const { stdout } = await run(path.join(root, 'node_modules/.bin/tsx'), ['client/cli.ts', 'demo', '--leads', '100'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        EMBEDDED_TEMPORAL_PORT: String(temporalPort),
        EMBEDDED_TEMPORAL_UI_PORT: String(await freePort()),
        EMBEDDED_POSTGRES_PORT: String(postgresPort),
        ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
      },
      timeout: 180_000,
    });
    expect(stdout).toMatch(/lead\s+\d+ fields/);
    expect(stdout).toMatch(/calls the emulated Marketo counted against its quota: 7\b/);
    expect(stdout).toContain(`Temporal Web UI: http://127.0.0.1:`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 240_000);
