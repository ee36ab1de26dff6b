import { faultCases } from '../../reliability/suites/fault.js';
import { PASSED, runNamed, stackForFile, verdict } from './support.js';

// The fault suite's fast subset: the full suite runs with `npm run reliability -- --suite fault`.
// Generous: the machine these run on is shared and often loaded; on an idle one each case takes seconds.
const TIMEOUT = 300_000;
const env = stackForFile();
const cases = faultCases();

test('push steps in a normal run: every contact reaches Marketo once, no self-inflicted 606/615', async () => {
  const r = await runNamed(env.stack, cases, 'push steps, normal run (baseline)', 200);
  expect(verdict(r)).toMatchObject(PASSED);
}, TIMEOUT);

test('push steps through HTTP 5xx answers: retried, nothing lost or doubled', async () => {
  const r = await runNamed(env.stack, cases, 'push: HTTP 5xx', 200);
  expect(verdict(r)).toMatchObject(PASSED);
}, TIMEOUT);

test('bootstrap through downloads cut half way: resumed, the CRM matches Marketo exactly', async () => {
  const r = await runNamed(env.stack, cases, 'bootstrap: download cut half way', 120);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(/3×breakDownloads/);
}, TIMEOUT);
