import { rmSync } from 'node:fs';
import type { LocalPostgres } from '../../src/services/local-postgres.js';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as { __testPostgres?: LocalPostgres }).__testPostgres;
  if (pg) {
    await pg.stop();
    rmSync(pg.dataDir, { recursive: true, force: true });
  }
}
