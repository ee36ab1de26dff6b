import { badInputCases } from '../../reliability/suites/bad-input.js';
import { MARKETING_MATCHED, PASSED, runNamed, stackForFile, verdict } from './support.js';

// The bad-input suite's fast subset: the full suite runs with `npm run reliability -- --suite bad-input`.
// Generous: the machine these run on is shared and often loaded; on an idle one each case takes seconds.
const TIMEOUT = 300_000;
const env = stackForFile();
const cases = badInputCases();

test('values Marketo refuses and a 1007 lookup are ledgered; every other contact arrives', async () => {
  const r = await runNamed(env.stack, cases, 'push: values Marketo refuses, 1007', 100);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(/1007/);
}, TIMEOUT);

test('hostile field names in Describe: provisioning refuses them, the CRM schema is untouched, every lead and every marketing record arrives', async () => {
  const r = await runNamed(env.stack, cases, 'hostile identifiers in Describe', 100);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(/provisioning refused.*CRM tables unchanged but for co_purchase/);
  expect(r.outcome).toMatch(MARKETING_MATCHED);
}, TIMEOUT);

test('lead export lines with bytes that are not UTF-8: each lead fetched again by id, none lost, none left open in the ledger', async () => {
  const r = await runNamed(env.stack, cases, 'invalid UTF-8 in lead export lines', 100);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(MARKETING_MATCHED);
  expect(r.outcome).toMatch(/Marketo answered (.*, )?2×invalidUtf8Rows/);
  expect(r.outcome).toMatch(/ledger: 6 MALFORMED_ROW entries resolved \(lead fetched again by id\), 0 resolved as gone, 0 open; [1-9]\d* Get Leads calls/);
}, TIMEOUT);

test('sync pull: damaged lines in a Bulk Lead Extract do not stall step 4; damaged leads fetched again by id, the ragged line ledgered', async () => {
  const r = await runNamed(env.stack, cases, 'sync pull: damaged lines in a Bulk Lead Extract', 20);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(/watermark moved; ledger \(pull\): 3 MALFORMED_ROW resolved \(lead fetched again by id\), 1 open \("data record 2 \(line 3, ends at byte \d+\) skipped: 2 cells where the header has \d+ columns"\); 1 Get Leads calls/);
}, TIMEOUT);

test('program member export lines with bytes that are not UTF-8: each ledgered open naming its lead, the only members missing; every other record arrives', async () => {
  const r = await runNamed(env.stack, cases, 'invalid UTF-8 in program member export lines', 100);
  expect(verdict(r)).toMatchObject(PASSED);
  expect(r.outcome).toMatch(/program members matched, missing 2 \(e\.g\. \d+:\d+, \d+:\d+\)/);
  expect(r.outcome).toMatch(/ledger: 2 MALFORMED_ROW entries open for programMember \(e\.g\. "data record \d+ \(line \d+, ends at byte \d+, key \d+\) skipped: invalid UTF-8 in column \w+"\), 0 other/);
}, TIMEOUT);
