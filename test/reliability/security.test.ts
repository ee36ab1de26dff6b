import { securityCases } from '../../reliability/suites/security.js';
import { PASSED, PASSED_NO_RECORDS, runNamed, stackForFile, verdict } from './support.js';

// The security suite at the report's scale (1,000 leads), kept out of the default suite (jest.config.js
// LONG_TESTS; npm run test:long): security-fast.test.ts is the default suite's subset, and the full
// suite is `npm run reliability -- --suite security`.
// Generous: the machine these run on is shared and often loaded; on an idle one each case takes seconds.
const TIMEOUT = 400_000;
const env = stackForFile();
const cases = securityCases();

test('webhook calls without valid credentials are refused and start nothing', async () => {
  const r = await runNamed(env.stack, cases, 'unauthenticated webhooks refused', 200);
  expect(verdict(r)).toMatchObject(PASSED_NO_RECORDS);
}, TIMEOUT);

test('a bootstrap + webhook run leaves no secret and no lead value in the logs or in Temporal history', async () => {
  const logs = await runNamed(env.stack, cases, 'no secret and no lead value in logs', 1_000);
  expect(verdict(logs)).toMatchObject(PASSED);
  const history = await runNamed(env.stack, cases, 'no lead value in Temporal history', 1_000);
  expect(verdict(history)).toMatchObject(PASSED_NO_RECORDS);
}, TIMEOUT);
