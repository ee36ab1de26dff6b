import { crashBootstrap, crashSyncCycles } from '../../reliability/suites/crash.js';
import { caseLog, startStack } from './support.js';

// The crash suite's longer subset (jest.config.js LONG_TESTS; npm run test:long): 3 SIGKILLs, one
// Temporal SIGKILL + restart and one Postgres restart (a cluster of the test's own, so jest's shared
// Postgres stays up) during a small bootstrap, and the same during sync cycles (4 kills, one per target step). crash-fast.test.ts is the
// default suite's subset; the volume run (100,000 leads, ≥ 10 kills) is `npm run reliability -- --suite crash`.
// Generous: the machine these run on is shared and often loaded; on an idle one each case takes seconds.
const TIMEOUT = 600_000;
let env: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  env = await startStack({ ownPostgres: true });
});
afterAll(() => env?.close());

const passing = { passed: true, lost: 0, duplicates: 0, why: '' };

test('worker SIGKILLs, a Temporal crash and a Postgres restart during a bootstrap lose and double nothing', async () => {
  const r = await crashBootstrap(
    { stack: env.stack, scale: 600, log: caseLog },
    { kills: 3, seed: 7, temporalAfterKill: 1, postgresAfterKill: 2, loadSeconds: 12, killDelayMs: [1_000, 2_500] },
  );
  expect({ passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome }).toMatchObject(passing);
  expect(r.outcome).toMatch(/3 SIGKILLs/);
}, TIMEOUT);

test('worker SIGKILLs, a Temporal crash and a Postgres restart during sync cycles: both directions arrive once, the loop goes on', async () => {
  const r = await crashSyncCycles(
    { stack: env.stack, scale: 0, log: caseLog },
    {
      leads: 3_200, kills: 4, seed: 5, temporalAfterKill: 1, postgresAfterKill: 2, intervalSeconds: 60, killDelayMs: [50, 400], stallMs: 120_000,
      bulkEdits: 3_050, pushEdits: 600, salesEdits: 5, latency: { rate: 0.5, ms: 200 }, minInStep: 3,
    },
  );
  expect({ passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome }).toMatchObject(passing);
  // Four kills in the seeded order: each target once, the bulk extract among them.
  expect(r.outcome).toMatch(/4 SIGKILLs, [34] of them while a step ran/);
  expect(r.outcome).toMatch(/pullLeadsAndCompanies bulk/);
}, TIMEOUT);
