import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { MappingConfig } from '../../src/mapping/mapping-config.js';
import { MarketoSchemas } from '../../src/mapping/marketo-schema.js';
import { planProvisioning, provision } from '../../src/mapping/provisioning.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { validateMapping } from '../../src/mapping/validate.js';
import { benchMarketoSchemas } from '../../bench/crm-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let crm: PostgresCrmConnector;

beforeAll(async () => {
  db = await createTestDatabase('provision');
  crm = await PostgresCrmConnector.open({ connectionString: db.url });
});

afterAll(async () => {
  await crm.close();
  await db.drop();
});

test('enabling a Marketo custom field and custom object provisions the CRM column and table, then the mapping validates', async () => {
  const schemas = benchMarketoSchemas();
  const config: MappingConfig = structuredClone(suggestMapping(schemas, await crm.describe()));
  const leads = config.entities.find((e) => e.marketo === 'lead' && e.crm === 'lead')!;
  leads.fields.push({ marketo: 'favoriteColor', crm: 'favorite_color', direction: 'both', enabled: true, truncate: false });
  leads.fields.push({ marketo: 'discountRate', crm: 'discount_rate', direction: 'both', enabled: true, truncate: false });
  config.entities.push({
    marketo: 'customObject:car_c', crm: 'custom:car', enabled: true, derived: [],
    fields: [
      { marketo: 'vin', crm: 'vin', direction: 'both', enabled: true, truncate: false },
      { marketo: 'model', crm: 'model', direction: 'both', enabled: true, truncate: false },
      { marketo: 'purchased', crm: 'purchased_on', direction: 'both', enabled: true, truncate: false },
    ],
  });
  expect(validateMapping(config, schemas, await crm.describe()).errors).toEqual(expect.arrayContaining([
    expect.stringMatching(/unknown CRM lead field 'favorite_color'/),
    expect.stringMatching(/CRM entity 'custom:car' does not exist/),
  ]));

  const plan = planProvisioning(config, schemas, await crm.describe());
  expect(plan).toEqual({
    fields: [
      { entity: 'lead', field: { name: 'favorite_color', type: 'string', length: 40 } },
      { entity: 'lead', field: { name: 'discount_rate', type: 'percent' } },
    ],
    customObjects: [{
      name: 'car',
      fields: [{ name: 'vin', type: 'string', length: 17 }, { name: 'model', type: 'string', length: 255 }, { name: 'purchased_on', type: 'date' }],
      dedupeFields: ['vin'],
      links: ['lead', 'contact'],
    }],
  });
  expect(await provision(crm, plan)).toEqual({ created: ['custom:car', 'lead.favorite_color', 'lead.discount_rate'] });
  expect(validateMapping(config, schemas, await crm.describe()).errors).toEqual([]);
  // Idempotent: a second run finds nothing to do.
  expect(planProvisioning(config, schemas, await crm.describe())).toEqual({ fields: [], customObjects: [] });
});

test('a hostile field name from Describe is refused by provisioning and nothing is created', async () => {
  const hostile = 'x"; drop table leads; --';
  const schemas = MarketoSchemas.parse({ ...benchMarketoSchemas(), lead: { ...benchMarketoSchemas().lead, fields: [...benchMarketoSchemas().lead.fields, { name: hostile, dataType: 'string', length: 20, updateable: true }] } });
  const config: MappingConfig = structuredClone(suggestMapping(schemas, await crm.describe()));
  config.entities.find((e) => e.marketo === 'lead' && e.crm === 'lead')!.fields.push({ marketo: hostile, crm: hostile, direction: 'toCrm', enabled: true, truncate: false });
  const plan = planProvisioning(config, schemas, await crm.describe());
  await expect(provision(crm, plan)).rejects.toThrow(/invalid field name/);
  const described = await crm.describe();
  expect(described.entities.find((e) => e.name === 'lead')!.fields.some((f) => f.name.includes('drop'))).toBe(false);
  const count = await crm.pool.query(`SELECT count(*)::int AS n FROM crm.leads`);
  expect(count.rows[0].n).toBe(0);
});
