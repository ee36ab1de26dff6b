import { crashBootstrap } from '../../reliability/suites/crash.js';
import { caseLog, startStack } from './support.js';

// The crash suite's fast subset, in the default suite: two worker SIGKILLs while a small bootstrap
// writes (each after CRM rows were written since the previous). crash.test.ts (npm run test:long) adds
// the Temporal SIGKILL + restart (minutes: activities dispatched when the server died wait for their
// timeouts), a Postgres restart and the sync-cycle case; the volume run is `npm run reliability -- --suite crash` (100,000 leads, ≥ 10 kills).
// Generous: the machine these run on is shared and often loaded; on an idle one this takes well under a minute.
const TIMEOUT = 600_000;
let env: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  env = await startStack();
});
afterAll(() => env?.close());

test('worker SIGKILLs while a bootstrap writes lose and double nothing', async () => {
  const r = await crashBootstrap(
    { stack: env.stack, scale: 300, log: caseLog },
    { kills: 2, seed: 11, temporalAfterKill: 0, postgresAfterKill: 0, loadSeconds: 10, killDelayMs: [300, 1_500] },
  );
  expect({ passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome }).toMatchObject({ passed: true, lost: 0, duplicates: 0, why: '' });
  expect(r.outcome).toMatch(/2 SIGKILLs/);
}, TIMEOUT);
