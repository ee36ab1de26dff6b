import { reconcile, type EntityReport, type ReconcileResult } from '../../src/reconcile/index.js';
import { FAST, mirrorIntoCrm, startReconcileHarness, type ReconcileHarness } from './support.js';

// Persons, companies, salespersons, opportunities and roles: the emulator's data mirrored into the
// Postgres CRM the way the sync writes it must reconcile clean; then one difference of every kind
// per entity, made on either side, must be reported exactly (and nothing else).
let h: ReconcileHarness;
const ENTITIES = ['persons', 'companies', 'salespersons', 'opportunities', 'roles'] as const;

beforeAll(async () => {
  h = await startReconcileHarness();
  await mirrorIntoCrm(h);
});

afterAll(async () => {
  await h?.close();
});

function entity(result: ReconcileResult, name: string): EntityReport {
  const r = result.entities.find((e) => e.entity === name);
  if (!r) throw new Error(`no report for ${name}`);
  return r;
}

const run = (extra: Parameters<typeof reconcile>[1] = {}) => reconcile({ marketo: h.marketo, crm: h.crm, store: h.store }, { entities: [...ENTITIES], since: h.since, ...FAST, ...extra });

test('a CRM loaded the way the sync loads it reconciles with zero differences, every record compared', async () => {
  const result = await run();
  const seeded = h.emulator.seedSummary!;
  for (const r of result.entities) expect({ entity: r.entity, differences: r.differences, notes: r.notes }).toMatchObject({ entity: r.entity, differences: 0 });
  expect(result.ok).toBe(true);
  expect(entity(result, 'persons')).toMatchObject({ marketo: seeded.leads, crm: seeded.leads, matched: seeded.leads });
  expect(entity(result, 'companies')).toMatchObject({ marketo: seeded.companies, crm: seeded.companies, matched: seeded.companies });
  expect(entity(result, 'salespersons')).toMatchObject({ marketo: seeded.salespersons, crm: seeded.salespersons, matched: seeded.salespersons });
  expect(entity(result, 'opportunities')).toMatchObject({ marketo: seeded.opportunities, crm: seeded.opportunities, matched: seeded.opportunities });
  expect(entity(result, 'roles')).toMatchObject({ marketo: seeded.roles, crm: seeded.roles, matched: seeded.roles });
  // Counted: the bulk exports, the REST lookups and Describe.
  expect(result.apiCalls).toBeGreaterThan(10);
  for (const r of result.entities) expect(r.apiCalls).toBeGreaterThan(0);
  expect(result.apiCalls).toBeGreaterThanOrEqual(result.entities.reduce((n, e) => n + e.apiCalls, 0));
});

/** Ids of seeded records to change, and what each change must show up as. */
async function makeDifferences(): Promise<Record<string, unknown>> {
  const contacts = (await h.crm.pool.query<{ id: string; marketo_lead_id: string }>('SELECT id, marketo_lead_id FROM crm.contacts ORDER BY marketo_lead_id')).rows;
  const [moved, changed, doubled] = [contacts[0]!, contacts[1]!, contacts[2]!].map((c) => Number(c.marketo_lead_id)) as [number, number, number];

  // Marketo side: a new company, salesperson and opportunity (with a role), found through a lead, and a new lead.
  expect((await h.marketo.companies.sync({ action: 'createOnly', input: [{ externalCompanyId: 'EXT-C-NEW', company: 'New Co' }] }))[0]!.status).toBe('created');
  expect((await h.marketo.salesPersons.sync({ action: 'createOnly', input: [{ externalSalesPersonId: 'EXT-SP-NEW', email: 'new@seller.example.com', lastName: 'New' }] }))[0]!.status).toBe('created');
  expect((await h.marketo.leads.sync({ action: 'updateOnly', lookupField: 'id', input: [{ id: moved, externalCompanyId: 'EXT-C-NEW', externalSalesPersonId: 'EXT-SP-NEW' }] }))[0]!.status).toBe('updated');
  expect((await h.marketo.opportunities.sync({ action: 'createOnly', input: [{ externalOpportunityId: 'EXT-O-NEW', name: 'New Opp' }] }))[0]!.status).toBe('created');
  expect((await h.marketo.opportunityRoles.sync({ action: 'createOnly', input: [{ externalOpportunityId: 'EXT-O-NEW', leadId: moved, role: 'Influencer' }] }))[0]!.status).toBe('created');
  const fresh = await h.marketo.leads.sync({ action: 'createOnly', lookupField: 'email', input: [{ email: 'fresh.lead@example.com', firstName: 'Fresh' }] });
  const freshId = (fresh[0] as { id?: number }).id;
  expect(freshId).toBeDefined();

  // CRM side: records Marketo does not have, a changed field each, and a second record under one key.
  const q = (sql: string, params: unknown[] = []) => h.crm.pool.query(sql, params);
  expect((await h.crm.upsert('lead', [{ marketo_lead_id: 99_999_999, last_name: 'Ghost', email: 'ghost@example.com' }], { keyField: 'marketo_lead_id' }))[0]!.status).toBe('created');
  await q('UPDATE crm.contacts SET first_name = $1 WHERE marketo_lead_id = $2', ['Changed', changed]);
  expect((await h.crm.upsert('lead', [{ marketo_lead_id: doubled, last_name: 'Twin', email: 'twin@example.com' }], { keyField: 'marketo_lead_id' }))[0]!.status).toBe('created');

  await h.crm.upsert('account', [{ name: 'Gone Co', external_company_id: 'EXT-C-GONE' }], { keyField: 'external_company_id' });
  await q(`UPDATE crm.accounts SET industry = 'Changed Industry' WHERE external_company_id = 'EXT-C-3'`);
  await q(`INSERT INTO crm.accounts (id, name) VALUES ('EXT-C-4', 'Dup Co')`);

  await h.crm.upsert('user', [{ email: 'gone@seller.example.com', last_name: 'Gone', external_sales_person_id: 'EXT-SP-GONE' }], { keyField: 'external_sales_person_id' });
  await q(`UPDATE crm.users SET title = 'Changed Title' WHERE external_sales_person_id = 'EXT-SP-1'`);
  await q(`INSERT INTO crm.users (id, email) VALUES ('EXT-SP-2', 'dup@seller.example.com')`);

  await h.crm.upsert('opportunity', [{ name: 'Gone Opp', external_opportunity_id: 'EXT-O-GONE' }], { keyField: 'external_opportunity_id' });
  await q(`UPDATE crm.opportunities SET amount = 1.5 WHERE external_opportunity_id = 'EXT-O-1'`);
  await q(`INSERT INTO crm.opportunities (id, name) VALUES ('EXT-O-2', 'Dup Opp')`);

  const ghostContact = contacts[3]!;
  await q(`INSERT INTO crm.opportunity_contact_roles (opportunity_id, contact_id, role) SELECT id, $1, 'Ghost' FROM crm.opportunities WHERE external_opportunity_id = 'EXT-O-GONE'`, [ghostContact.id]);
  const flipped = (await q(`UPDATE crm.opportunity_contact_roles SET is_primary = NOT is_primary WHERE id = (SELECT r.id FROM crm.opportunity_contact_roles r JOIN crm.opportunities o ON o.id = r.opportunity_id WHERE o.external_opportunity_id = 'EXT-O-3' ORDER BY r.id LIMIT 1) RETURNING contact_id, role`)).rows[0] as { contact_id: string; role: string };
  const copied = (await q(`INSERT INTO crm.opportunity_contact_roles (opportunity_id, contact_id, role) SELECT 'EXT-O-2', r.contact_id, r.role FROM crm.opportunity_contact_roles r JOIN crm.opportunities o ON o.id = r.opportunity_id WHERE o.external_opportunity_id = 'EXT-O-2' ORDER BY r.id LIMIT 1 RETURNING contact_id, role`)).rows[0] as { contact_id: string; role: string };
  const leadOf = (contactId: string) => contacts.find((c) => c.id === contactId)!.marketo_lead_id;
  return {
    // The moved lead now names the new company and salesperson in Marketo; its CRM contact still links the old ones.
    persons: {
      missingInCrm: [String(freshId)],
      missingInMarketo: ['99999999'],
      mismatched: [{ key: String(moved), fields: ['owner_id', 'account_id'] }, { key: String(changed), fields: ['first_name'] }],
      duplicates: [String(doubled)],
    },
    roles: {
      missingInCrm: [`EXT-O-NEW|${moved}|Influencer`],
      missingInMarketo: [`EXT-O-GONE|${ghostContact.marketo_lead_id}|Ghost`],
      mismatched: [{ key: `EXT-O-3|${leadOf(flipped.contact_id)}|${flipped.role}`, fields: ['is_primary'] }],
      duplicates: [`EXT-O-2|${leadOf(copied.contact_id)}|${copied.role}`],
    },
  };
}

test('one difference of each kind per entity, on either side, is reported exactly', async () => {
  const expected = (await makeDifferences()) as Record<string, { missingInCrm: string[]; missingInMarketo: string[]; mismatched: { key: string; fields: string[] }[]; duplicates: string[] }>;
  const result = await run();
  const simple = (prefix: string, field: string) => ({
    missingInCrm: [`${prefix}-NEW`],
    missingInMarketo: [`${prefix}-GONE`],
    mismatched: [{ key: `${prefix}-${prefix === 'EXT-SP' ? 1 : prefix === 'EXT-C' ? 3 : 1}`, fields: [field] }],
    duplicates: [`${prefix}-${prefix === 'EXT-C' ? 4 : 2}`],
  });
  const want: Record<string, { missingInCrm: string[]; missingInMarketo: string[]; mismatched: { key: string; fields: string[] }[]; duplicates: string[] }> = {
    persons: expected.persons!,
    companies: simple('EXT-C', 'industry'),
    salespersons: simple('EXT-SP', 'title'),
    opportunities: simple('EXT-O', 'amount'),
    roles: expected.roles!,
  };
  for (const name of ENTITIES) {
    const r = entity(result, name);
    expect({
      name,
      missingInCrm: r.missingInCrm.sample,
      missingInMarketo: r.missingInMarketo.sample,
      mismatched: r.mismatched.sample,
      duplicates: r.duplicates.sample.map((d) => d.key),
      differences: r.differences,
    }).toEqual({ name, ...want[name], differences: name === 'persons' ? 5 : 4 });
  }
  expect(result.ok).toBe(false);
  expect(result.differences).toBe(21);
  // Values stay out unless asked for (PII); asked for, they show both sides.
  expect(JSON.stringify(result)).not.toContain('Changed Industry');
  const shown = await run({ entities: ['companies'], showValues: true });
  expect(entity(shown, 'companies').mismatched.sample[0]!.values).toEqual({ industry: { marketo: expect.any(String), crm: 'Changed Industry' } });
});
