import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  if (globalThis.__testWorkflowBundleDir) rmSync(globalThis.__testWorkflowBundleDir, { recursive: true, force: true });
  const pg = globalThis.__testPostgres;
  if (pg) {
    await pg.stop();
    rmSync(pg.dataDir, { recursive: true, force: true });
  }
}
