import { faultCases, syncLoopUnderFault } from '../../reliability/suites/fault.js';
import { caseLog, PASSED, runNamed, stackForFile, verdict } from './support.js';

// The fault suite's fast subset: the full suite runs with `npm run reliability -- --suite fault`.
// One sync-loop case (the real syncLoop workflow, users on both sides, HTTP 5xx) keeps the cycles under CI.
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

test('the real syncLoop through HTTP 5xx answers: users on both sides, every change arrives once, reconciliation clean, ledger empty', async () => {
  // Two faulted cycles instead of the suite's four: the same checks, half the cycles.
  const r = await syncLoopUnderFault({ stack: env.stack, scale: 100, log: caseLog }, '5xx', 2);
  expect({ passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome }).toMatchObject(PASSED);
  // The fault reached the cycles, and every user-created record is on the other side once.
  expect(r.outcome).toMatch(/Marketo answered .*\d+×50[0234]/);
  expect(r.outcome).toMatch(/(\d+)\/\1 CRM-created contacts in Marketo, (\d+)\/\2 Marketo-created leads in the CRM/);
  expect(r.outcome).toMatch(/idle cycle \d+ succeeded: nothing to carry/);
}, TIMEOUT);
