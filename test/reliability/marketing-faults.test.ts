import { MARKETING_FAULTS } from '../../reliability/bootstrap-run.js';
import { bootstrapUnderFault } from '../../reliability/suites/fault.js';
import { crmPersons, crmRows, uniqueKeysChecked } from '../../reliability/verify.js';
import { caseLog, MARKETING_MATCHED, stackForFile } from './support.js';

// The marketing phases under faults aimed at their own calls (the fault suite's "any call" rules are
// spent before these phases start): every planned fault must be answered, and the check must still
// find every custom object record, program, member, list and activity once.
// Generous: the machine these run on is shared and often loaded; on an idle one this takes seconds.
const TIMEOUT = 300_000;
const env = stackForFile();

test('faults on every marketing call: retried and resumed, every marketing record arrives once', async () => {
  let keys: string[] = [];
  let rows = { all: 0, persons: 0, marketing: 0 };
  const r = await bootstrapUnderFault({ stack: env.stack, scale: 150, log: caseLog }, 'marketing-faults', {
    rules: MARKETING_FAULTS.rules,
    inspect: async (s) => {
      keys = await uniqueKeysChecked(s.crm.pool);
      const marketing = await s.crm.pool.query<{ n: string }>(
        'SELECT (SELECT count(*) FROM crm.campaigns) + (SELECT count(*) FROM crm.campaign_members) + (SELECT count(*) FROM crm.static_lists) + (SELECT count(*) FROM crm.list_members) + (SELECT count(*) FROM crm.marketing_activities) + (SELECT count(*) FROM crm.co_purchase) AS n',
      );
      rows = { all: await crmRows(s.crm.pool), persons: await crmPersons(s.crm.pool), marketing: Number(marketing.rows[0]?.n) };
      return { text: '', passed: true };
    },
  });
  expect({ passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome }).toMatchObject({ passed: true, lost: 0, duplicates: 0, why: '' });
  expect(r.outcome).toMatch(MARKETING_MATCHED);
  // Each rule fires on the next matching call: all of them were reached, by the marketing phases alone.
  expect(r.outcome).not.toMatch(/planned faults not reached/);
  // Every planned fault answered once, as the emulator counted them (reset, or the code / HTTP status).
  const planned: Record<string, number> = {};
  for (const rule of MARKETING_FAULTS.rules) {
    const kind = rule.code ?? (rule.httpStatus ? String(rule.httpStatus) : 'reset');
    planned[kind] = (planned[kind] ?? 0) + (rule.count ?? 1);
  }
  expect(planned).toEqual({ '503': 3, '604': 4, '606': 2, reset: 3 + 2 });
  expect(r.answered).toMatchObject(planned);
  // crmRows (the crash suite's progress measure) counts the marketing phases' rows too.
  expect(rows.all).toBeGreaterThanOrEqual(rows.persons + rows.marketing);
  expect(rows.marketing).toBeGreaterThan(0);
  // The duplicate-key queries covered the marketing tables, the provisioned custom object table included.
  expect(keys).toEqual(
    expect.arrayContaining([
      'campaigns.marketo_program_id', 'campaign_members.marketo_key', 'static_lists.marketo_list_id', 'list_members.marketo_key',
      'marketing_activities.marketo_guid', 'co_purchase.marketo_guid', 'co_purchase.purchase_id',
    ]),
  );
}, TIMEOUT);
