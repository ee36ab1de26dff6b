import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { configureBulk } from '../../emulator/bulk/service.js';
import { reconcile } from '../../src/reconcile/index.js';
import { bootstrap } from '../../workflows/index.js';
import { createDevServerEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';
import { FAST_POLL } from './support.js';

// A role whose person is a lead (no company in Marketo; a CRM lead): the roles phase converts the
// person (seed: Lead Conversion, into the opportunity's company) on both sides and writes the role
// on the contact. A person whose opportunity has no company cannot be converted: its role is ledgered.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;
const SINCE = '2023-12-15T00:00:00Z';
const HIGH = '2024-03-01T00:00:00Z';
const sec = (iso: string) => Date.parse(iso) / 1000;
let convertible: number;
let stuck: number;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await startHarness(env.nativeConnection, {
    emulator: { seed: { leads: 30, companies: 3, salespersons: 2, opportunities: 2, rolesPerOpportunity: 2, programs: 0, lists: 0, customObjects: 0, from: '2024-01-01T00:00:00Z', to: '2024-02-15T00:00:00Z' } },
  });
  await configureBulk(h.emulator.subscription, { export: { rowsPerSecond: 5_000 } });
  const sub = h.emulator.subscription;
  const roleType = sub.objectType('opportunityRole')!;
  convertible = sub.createLead({ email: 'lone.lead@example.com', firstName: 'Lone', lastName: 'Lead', externalSalesPersonId: 'EXT-SP-1' }, 1, 'Web form', sec('2024-01-10T10:00:00Z'));
  stuck = sub.createLead({ email: 'stuck.lead@example.com', firstName: 'Stuck', lastName: 'Lead' }, 1, 'Web form', sec('2024-01-11T10:00:00Z'));
  sub.createObject(sub.objectType('opportunity')!, { externalOpportunityId: 'EXT-O-NOCO', name: 'No company deal', amount: 5000 }, sec('2024-01-12T10:00:00Z'));
  sub.createObject(roleType, { externalOpportunityId: 'EXT-O-1', leadId: convertible, role: 'Evaluator', isPrimary: false }, sec('2024-01-20T10:00:00Z'));
  sub.createObject(roleType, { externalOpportunityId: 'EXT-O-NOCO', leadId: stuck, role: 'Champion', isPrimary: true }, sec('2024-01-21T10:00:00Z'));
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const one = async <T>(sql: string, params: unknown[]) => (await h.crm.pool.query<T & object>(sql, params)).rows;

test('a role on a lead converts the lead into a contact of the opportunity\'s company on both sides; one without a company is ledgered', async () => {
  const sub = h.emulator.subscription;
  const company = String(sub.findObjectByKey('opportunity', 'dedupeFields', { externalOpportunityId: 'EXT-O-1' })!.values.externalCompanyId);
  const entities = { leads: { enabled: true }, companies: { enabled: true }, opportunities: { enabled: true }, opportunityRoles: { enabled: true }, salesPersons: { enabled: true } };
  const result = await env.client.workflow.execute(bootstrap, { taskQueue: h.taskQueue, workflowId: 'bootstrap-role-conversion', args: [{ since: SINCE, highWatermark: HIGH, entities, maxWindowDays: 31, poll: FAST_POLL }] });
  expect(result.progress.state).toBe('done');
  expect(result.progress.phases.opportunityRoles).toMatchObject({ state: 'done', failed: 1 });

  // CRM: the lead is converted, its contact sits in the opportunity's account and holds the role.
  const [lead] = await one<{ is_converted: boolean; converted_contact_id: string }>('SELECT is_converted, converted_contact_id FROM crm.leads WHERE email = $1', ['lone.lead@example.com']);
  expect(lead).toMatchObject({ is_converted: true });
  const [contact] = await one<{ id: string; marketo_lead_id: string; external_company_id: string; owner: string }>(
    `SELECT c.id, c.marketo_lead_id, a.external_company_id, u.external_sales_person_id AS owner
     FROM crm.contacts c JOIN crm.accounts a ON a.id = c.account_id JOIN crm.users u ON u.id = c.owner_id WHERE c.id = $1`, [lead!.converted_contact_id]);
  // Its owner follows it, whether linked before the conversion or after (onto the contact).
  expect(contact).toEqual({ id: lead!.converted_contact_id, marketo_lead_id: String(convertible), external_company_id: company, owner: 'EXT-SP-1' });
  const roles = await one<{ role: string; external_opportunity_id: string }>(
    'SELECT r.role, o.external_opportunity_id FROM crm.opportunity_contact_roles r JOIN crm.opportunities o ON o.id = r.opportunity_id WHERE r.contact_id = $1', [contact!.id]);
  expect(roles).toEqual([{ role: 'Evaluator', external_opportunity_id: 'EXT-O-1' }]);
  expect((await h.store.idMap.byMarketoIds('lead', [String(convertible)])).get(String(convertible))).toMatchObject({ crmType: 'contact', crmId: contact!.id });

  // Marketo: the person is associated with the company (a contact in Marketo's terms).
  expect(sub.leadValue(convertible, 'externalCompanyId')).toBe(company);

  // The person whose opportunity has no company stays a lead; its role is in the ledger, named.
  expect(await one('SELECT is_converted FROM crm.leads WHERE email = $1', ['stuck.lead@example.com'])).toEqual([{ is_converted: false }]);
  const ledgered = (await h.store.errors.list({ entity: 'opportunityRole' })).filter((e) => e.code === 'NOT_A_CONTACT');
  expect(ledgered).toHaveLength(1);
  expect(ledgered[0]!.reason).toMatch(new RegExp(`lead ${stuck} is a CRM lead and was not converted: opportunity EXT-O-NOCO has no company`));

  // Both sides agree on persons, companies, opportunities; of the roles only the ledgered one is missing.
  const report = await reconcile({ marketo: h.marketo, crm: h.crm, store: h.store }, { entities: ['persons', 'companies', 'opportunities', 'roles'], since: SINCE, until: HIGH, maxWindowDays: 31, pollIntervalMs: 100 });
  const byEntity = Object.fromEntries(report.entities.map((e) => [e.entity, { missingInCrm: e.missingInCrm.count, missingInMarketo: e.missingInMarketo.count, mismatched: e.mismatched.count, duplicates: e.duplicates.count }]));
  expect(byEntity).toEqual({
    persons: { missingInCrm: 0, missingInMarketo: 0, mismatched: 0, duplicates: 0 },
    companies: { missingInCrm: 0, missingInMarketo: 0, mismatched: 0, duplicates: 0 },
    opportunities: { missingInCrm: 0, missingInMarketo: 0, mismatched: 0, duplicates: 0 },
    roles: { missingInCrm: 1, missingInMarketo: 0, mismatched: 0, duplicates: 0 },
  });
  expect(report.entities.find((e) => e.entity === 'roles')!.missingInCrm.sample).toEqual([`EXT-O-NOCO|${stuck}|Champion`]);
});
