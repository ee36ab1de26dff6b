import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/services/local-postgres.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The main job as a user runs it: a spawned `marketo-sync demo`, no configuration but its own
// data folder and ports, so it cannot collide with a demo already running on this machine. It must
// tell the whole story and end with zero reconciliation differences (exit 0).
test('marketo-sync demo runs the product end to end on the embedded default and reconciles to zero differences', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-demo-'));
  chmodSync(dataDir, 0o755); // as root, Postgres runs as `postgres` and must traverse it
  const [temporalPort, uiPort, postgresPort] = [await freePort(), await freePort(), await freePort()];
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        path.join(root, 'node_modules/.bin/tsx'),
        ['client/cli.ts', 'demo', '--leads', '100'],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            DATA_DIR: dataDir,
            EMBEDDED_TEMPORAL_PORT: String(temporalPort),
            EMBEDDED_TEMPORAL_UI_PORT: String(uiPort),
            EMBEDDED_POSTGRES_PORT: String(postgresPort),
            ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
            // The workflow code the suite bundled once (test/support/global-setup.mjs): no webpack run in the demo.
            ...(process.env.MARKETO_SYNC_WORKFLOW_BUNDLE ? { MARKETO_SYNC_WORKFLOW_BUNDLE: process.env.MARKETO_SYNC_WORKFLOW_BUNDLE } : {}),
          },
          timeout: 420_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, out, errOut) => (err && typeof err.code !== 'number' ? reject(new Error(`${err.message}\n${errOut}`)) : resolve({ code: err ? (err.code as number) : 0, stdout: out, stderr: errOut })),
      );
    });
    // On a failure the message carries the demo's own story: its DIFFERENT lines list the keys.
    try {
      // The story, step by step.
      expect(stdout).toMatch(/lead\s+\d+ fields/);
      expect(stdout).toMatch(/leads\s+100 written, 0 failed/);
      expect(stdout).toMatch(/Marketo: 3 leads edited, 2 created; CRM: 2 contacts edited, 1 created/);
      expect(stdout).toMatch(/cycle \d+: succeeded/);
      expect(stdout).not.toMatch(/last cycle failed/);
      expect(stdout).toMatch(/lead \d+: HTTP 200, workflow on-demand-\d+, in the CRM after \d+ ms/);
      expect(stdout).toMatch(/API calls made by the client: \d+ of 50000/);
      expect(stdout).toMatch(/calls the emulated Marketo counted against its quota: \d+/);
      expect(stdout).toContain(`Temporal Web UI: http://127.0.0.1:${uiPort}`);
      // The acceptance: both sides identical after the run.
      expect({ code, reconciliation: /reconciliation: (.*)/.exec(stdout)?.[1] }).toEqual({ code: 0, reconciliation: expect.stringMatching(/^zero differences/) });
      expect(stderr).not.toMatch(/Activity failed/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n\n--- marketo-sync demo stdout ---\n${stdout}\n--- stderr (last 4000 characters) ---\n${stderr.slice(-4000)}`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 480_000);
