import { securityCases } from '../../reliability/suites/security.js';
import { MARKETING_MATCHED, PASSED, PASSED_NO_RECORDS, runNamed, stackForFile, verdict } from './support.js';

// The security suite's fast subset, in the default suite: the same scans on a small run (50 leads,
// 20 webhooks) and the unauthenticated webhook calls. security.test.ts runs them at 1,000 leads
// (npm run test:long); the full suite is `npm run reliability -- --suite security`.
// Generous: the machine these run on is shared and often loaded; on an idle one each case takes seconds.
const TIMEOUT = 400_000;
const env = stackForFile();
const cases = securityCases();

test('webhook calls without valid credentials are refused and start nothing', async () => {
  const r = await runNamed(env.stack, cases, 'unauthenticated webhooks refused', 50);
  expect(verdict(r)).toMatchObject(PASSED_NO_RECORDS);
  expect(r.outcome).toMatch(/workflows started by refused calls: 0/);
}, TIMEOUT);

test('a small bootstrap + webhook run leaves no secret and no lead value in the logs or in Temporal history', async () => {
  const logs = await runNamed(env.stack, cases, 'no secret and no lead value in logs', 50);
  expect(verdict(logs)).toMatchObject(PASSED);
  expect(logs.outcome).toMatch(/20\/20 webhooks accepted/);
  // The run scanned includes the marketing phases (their exports' child workflows are in the histories read).
  expect(logs.outcome).toMatch(MARKETING_MATCHED);
  const history = await runNamed(env.stack, cases, 'no lead value in Temporal history', 50);
  expect(verdict(history)).toMatchObject(PASSED_NO_RECORDS);
  expect(history.outcome).toMatch(/20 onDemandSync/);
}, TIMEOUT);
