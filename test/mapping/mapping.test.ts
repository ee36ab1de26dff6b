import type { CrmDescribe } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { compileToCrm, compileToMarketo, routeLead, splitCompanyFields } from '../../src/mapping/apply.js';
import { MappingConfig } from '../../src/mapping/mapping-config.js';
import { MappingRejectedError, exportMappingYaml, importMappingYaml, parseMappingYaml } from '../../src/mapping/mapping-file.js';
import { MarketoSchemas } from '../../src/mapping/marketo-schema.js';
import { reconcileWithSchemas } from '../../src/mapping/refresh.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { validateMapping } from '../../src/mapping/validate.js';
import { StateStore } from '../../src/store/state-store.js';
import { benchMarketoSchemas } from '../../bench/crm-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let crm: PostgresCrmConnector;
let store: StateStore;
let describe_: CrmDescribe;
let schemas: MarketoSchemas;

beforeAll(async () => {
  db = await createTestDatabase('mapping');
  crm = await PostgresCrmConnector.open({ connectionString: db.url });
  await crm.provisionField('lead', { name: 'favorite_color', type: 'string', length: 40 });
  await crm.provisionCustomObject({ name: 'car', fields: [{ name: 'vin', type: 'string', length: 17 }, { name: 'model', type: 'string' }, { name: 'price', type: 'currency' }], dedupeFields: ['vin'], links: ['contact'] });
  describe_ = await crm.describe();
  store = await StateStore.open({ connectionString: db.url });
  schemas = benchMarketoSchemas();
});

afterAll(async () => {
  await store.close();
  await crm.close();
  await db.drop();
});

const suggested = () => suggestMapping(schemas, describe_, { customObjects: { car_c: 'custom:car' } });
const entity = (config: MappingConfig, marketo: string, crmName: string) => config.entities.find((e) => e.marketo === marketo && e.crm === crmName)!;

describe('suggested mapping', () => {
  test('is valid against both schemas and covers the seed special fields', () => {
    const config = suggested();
    const report = validateMapping(config, schemas, describe_);
    expect(report.errors).toEqual([]);
    expect(config.leadKey.marketoField).toBe('crmId');
    const contact = entity(config, 'lead', 'contact');
    expect(contact.fields).toEqual(expect.arrayContaining([
      expect.objectContaining({ marketo: 'crmId', crm: 'id', direction: 'toMarketo' }),
      expect.objectContaining({ marketo: 'id', crm: 'marketo_lead_id', direction: 'toCrm' }),
      expect.objectContaining({ marketo: 'externalCompanyId', crm: 'account_id' }),
      expect.objectContaining({ marketo: 'externalSalesPersonId', crm: 'owner_id' }),
      expect.objectContaining({ marketo: 'acquisitionProgramId', crm: 'acquisition_program_id' }),
      expect.objectContaining({ marketo: 'address', crm: 'mailing_street' }),
    ]));
    // Name similarity: a provisioned custom field pairs with its Marketo origin.
    expect(entity(config, 'lead', 'lead').fields).toContainEqual(expect.objectContaining({ marketo: 'favoriteColor', crm: 'favorite_color', direction: 'both' }));
    expect(entity(config, 'company', 'account').fields).toContainEqual(expect.objectContaining({ marketo: 'externalCompanyId', crm: 'id', direction: 'toMarketo' }));
    const opp = entity(config, 'opportunity', 'opportunity');
    expect(opp.fields).toEqual(expect.arrayContaining([
      expect.objectContaining({ marketo: 'amount', crm: 'amount' }),
      expect.objectContaining({ marketo: 'externalCreatedDate', crm: 'created_date', direction: 'toMarketo' }),
      expect.objectContaining({ marketo: 'isWon', crm: 'is_won' }),
    ]));
    expect(opp.derived).toEqual([{ marketo: 'expectedRevenue', rule: 'expectedRevenue', enabled: true }]);
    expect(entity(config, 'opportunityRole', 'opportunityRole').fields).toContainEqual(expect.objectContaining({ marketo: 'isPrimary', crm: 'is_primary' }));
    const car = entity(config, 'customObject:car_c', 'custom:car').fields;
    expect(car.map((f) => f.marketo).sort()).toEqual(['marketoGUID', 'model', 'price', 'vin']);
    expect(car.find((f) => f.marketo === 'marketoGUID')).toMatchObject({ crm: 'marketo_guid', direction: 'toCrm' });
    // Everything attribution needs is mapped, so there is no attribution warning.
    expect(report.warnings.filter((w) => /attribution/.test(w))).toEqual([]);
  });
});

describe('validation errors name the entity and the field', () => {
  const withField = (patch: (c: MappingConfig) => void) => {
    const config = structuredClone(suggested());
    patch(config);
    return validateMapping(config, schemas, describe_).errors;
  };

  test('unknown fields on either side, with a suggestion', () => {
    expect(withField((c) => entity(c, 'lead', 'contact').fields.push({ marketo: 'emial', crm: 'email', direction: 'both', enabled: true, truncate: false }))).toContainEqual(
      expect.stringMatching(/lead ⇄ contact\) fields\[\d+\]: unknown Marketo lead field 'emial'; did you mean 'email'\?/),
    );
    expect(withField((c) => (entity(c, 'company', 'account').fields[1]!.crm = 'nmae'))).toContainEqual(
      expect.stringMatching(/company ⇄ account\) fields\[1\]: unknown CRM account field 'nmae'; did you mean 'name'\?/),
    );
  });

  test('hidden fields, non-updateable targets, incompatible types and lengths', () => {
    const hidden = MarketoSchemas.parse(structuredClone(schemas));
    hidden.lead.fields.find((f) => f.name === 'title')!.isHidden = true;
    expect(validateMapping(suggested(), hidden, describe_).errors).toContainEqual(expect.stringMatching(/Marketo lead field 'title' is hidden/));

    expect(withField((c) => entity(c, 'lead', 'lead').fields.push({ marketo: 'relativeScore', crm: 'id', direction: 'toCrm', enabled: true, truncate: false }))).toContainEqual(
      expect.stringMatching(/CRM lead field 'id' is not writable; use direction toMarketo/),
    );
    expect(withField((c) => entity(c, 'lead', 'lead').fields.push({ marketo: 'engagementFormula', crm: 'rating', direction: 'both', enabled: true, truncate: false }))).toContainEqual(
      expect.stringMatching(/'engagementFormula' is a formula and cannot be written/),
    );
    expect(withField((c) => entity(c, 'lead', 'lead').fields.push({ marketo: 'createdAt', crm: 'lead_score', direction: 'toCrm', enabled: true, truncate: false }))).toContainEqual(
      expect.stringMatching(/Marketo 'createdAt' \(datetime\) cannot be written to CRM 'lead_score' \(integer\): incompatible types/),
    );
    expect(withField((c) => entity(c, 'lead', 'lead').fields.push({ marketo: 'company', crm: 'sic_code' as string, direction: 'toCrm', enabled: true, truncate: false }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown CRM lead field 'sic_code'/)]),
    );
    expect(withField((c) => {
      const f = entity(c, 'lead', 'lead').fields.find((x) => x.marketo === 'favoriteColor')!;
      f.marketo = 'company';
    })).toContainEqual(expect.stringMatching(/Marketo 'company' \(string\) holds up to 255 characters but CRM 'favorite_color' \(string\) only 40; set truncate: true/));
  });

  test('lead key, routing and derived-field requirements', () => {
    expect(withField((c) => (c.leadKey.marketoField = 'crmid'))).toContainEqual(expect.stringMatching(/leadKey.marketoField: unknown Marketo lead field 'crmid'; did you mean 'crmId'\?/));
    expect(withField((c) => (c.leadRouting = { by: 'field', marketoField: 'personType', values: { lead: 'L', contact: 'C' } }))).toContainEqual(
      expect.stringMatching(/leadRouting.marketoField: unknown Marketo lead field 'personType'/),
    );
    expect(withField((c) => {
      const opp = entity(c, 'opportunity', 'opportunity');
      opp.fields = opp.fields.filter((f) => f.marketo !== 'probability');
    })).toContainEqual(expect.stringMatching(/rule expectedRevenue needs a CRM field mapped to Marketo 'probability'/));
  });
});

describe('schema refresh', () => {
  test('a field that disappears is disabled with a warning, never a crash', () => {
    const config = suggested();
    const shrunk = MarketoSchemas.parse(structuredClone(schemas));
    shrunk.lead.fields = shrunk.lead.fields.filter((f) => f.name !== 'favoriteColor');
    delete (shrunk.customObjects as Record<string, unknown>).car_c;
    const crmShrunk: CrmDescribe = { entities: describe_.entities.map((e) => (e.name === 'contact' ? { ...e, fields: e.fields.filter((f) => f.name !== 'department') } : e)) };
    const out = reconcileWithSchemas(config, shrunk, crmShrunk);
    expect(out.changed).toBe(true);
    expect(out.warnings).toEqual(expect.arrayContaining([
      "lead ⇄ lead: field favoriteColor ⇄ favorite_color disabled: Marketo field 'favoriteColor' no longer exists",
      "lead ⇄ contact: field department ⇄ department disabled: CRM field 'department' no longer exists",
      "customObject:car_c ⇄ custom:car: disabled, Marketo object 'customObject:car_c' no longer exists",
    ]));
    expect(entity(out.config, 'lead', 'lead').fields.find((f) => f.marketo === 'favoriteColor')).toMatchObject({ enabled: false, disabledReason: expect.any(String) });
    expect(validateMapping(out.config, shrunk, crmShrunk).errors).toEqual([]);
    // The mapper skips a field gone from Describe even before reconciliation has run.
    const toCrm = compileToCrm(config, 'lead', 'lead', shrunk, describe_);
    expect(toCrm({ id: 5, favoriteColor: 'red', email: 'a@b.co' })).toEqual({ ok: true, record: { marketo_lead_id: 5, email: 'a@b.co' } });
  });
});

describe('YAML mapping files', () => {
  test('export then import round-trips and stores a new version', async () => {
    const yaml = exportMappingYaml(suggested());
    expect(parseMappingYaml(yaml)).toEqual(MappingConfig.parse(suggested()));
    const { version } = await importMappingYaml(yaml, { schemas, crm: describe_, sink: store.mappings, author: 'test' });
    const stored = await store.mappings.current();
    expect(stored).toMatchObject({ version, author: 'test' });
    expect(stored!.config).toEqual(MappingConfig.parse(suggested()));
  });

  test('a typo in a field name is rejected naming the field and the entity, and nothing is written', async () => {
    const before = await store.mappings.versions();
    const yaml = exportMappingYaml(suggested()).replace('marketo: firstName\n', 'marketo: frstName\n');
    const attempt = importMappingYaml(yaml, { schemas, crm: describe_, sink: store.mappings });
    await expect(attempt).rejects.toBeInstanceOf(MappingRejectedError);
    await expect(importMappingYaml(yaml, { schemas, crm: describe_, sink: store.mappings })).rejects.toThrow(
      /\(lead ⇄ lead\) fields\[\d+\]: unknown Marketo lead field 'frstName'; did you mean 'firstName'\?/,
    );
    expect(await store.mappings.versions()).toEqual(before);
  });

  test('a typo in a CRM field name is rejected naming the CRM field and the entity, and nothing is written', async () => {
    const before = await store.mappings.versions();
    const yaml = exportMappingYaml(suggested()).replace('crm: mailing_city\n', 'crm: maling_city\n');
    await expect(importMappingYaml(yaml, { schemas, crm: describe_, sink: store.mappings })).rejects.toThrow(
      /\(lead ⇄ contact\) fields\[\d+\]: unknown CRM contact field 'maling_city'; did you mean 'mailing_city'\?/,
    );
    expect(await store.mappings.versions()).toEqual(before);
  });

  test('a typo in a key or a bad direction is rejected naming the entity', () => {
    const yaml = exportMappingYaml(suggested());
    expect(() => parseMappingYaml(yaml.replace('  - marketo: company\n    crm: account', '  - marketoo: company\n    crm: account'))).toThrow(/undefined ⇄ account: entities\.\d+/);
    expect(() => parseMappingYaml(yaml.replace('direction: toMarketo', 'direction: sideways'))).toThrow(/lead ⇄ lead: entities\.0\.fields\.\d+\.direction/);
    expect(() => parseMappingYaml('entities: [')).toThrow(/not valid YAML/);
  });
});

describe('applying a mapping', () => {
  test('opportunities: amount, expected revenue, stage from Closed/Won, created date', () => {
    const config = suggested();
    const toMarketo = compileToMarketo(config, 'opportunity', 'opportunity', schemas, describe_);
    const won = toMarketo({ id: 'O1', name: 'Deal', amount: 1000, probability: 75, is_closed: true, is_won: true, stage: 'Negotiation', created_date: '2025-01-02T03:04:05.123456+00:00', account_id: 'A1', close_date: '2025-02-01' });
    expect(won).toEqual({
      ok: true,
      record: expect.objectContaining({ externalOpportunityId: 'O1', amount: 1000, probability: 75, expectedRevenue: 750, isClosed: true, isWon: true, stage: 'Negotiation', externalCreatedDate: '2025-01-02T03:04:05Z', externalCompanyId: 'A1', closeDate: '2025-02-01' }),
    });
    const withStage = structuredClone(config);
    entity(withStage, 'opportunity', 'opportunity').derived.push({ marketo: 'stage', rule: 'stageFromClosedWon', enabled: true });
    const stageMapper = compileToMarketo(withStage, 'opportunity', 'opportunity', schemas, describe_);
    expect(stageMapper({ is_closed: true, is_won: true, stage: 'x' }).record.stage).toBe('Closed Won');
    expect(stageMapper({ is_closed: true, is_won: false, stage: 'x' }).record.stage).toBe('Closed Lost');
    expect(stageMapper({ is_closed: false, is_won: false, stage: 'Qualify' }).record.stage).toBe('Qualify');
    expect(stageMapper({ is_closed: false, is_won: true }).record.isWon).toBe(false);
  });

  test('roles: the contact reference becomes the Marketo lead id through the id map', () => {
    const toMarketo = compileToMarketo(suggested(), 'opportunityRole', 'opportunityRole', schemas, describe_, {
      marketoLeadId: (type, id) => (type === 'contact' && id === 'C1' ? '318581' : undefined),
    });
    expect(toMarketo({ opportunity_id: 'O1', contact_id: 'C1', role: 'Buyer', is_primary: true })).toEqual({
      ok: true,
      record: { externalOpportunityId: 'O1', leadId: 318581, role: 'Buyer', isPrimary: true },
    });
    expect(toMarketo({ opportunity_id: 'O1', contact_id: 'C9', role: 'Buyer' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/'contact_id' refers to a CRM contact not yet in Marketo/)] });
  });

  test('routing persons and deferring company fields of linked persons to the company', () => {
    const config = suggested();
    expect(routeLead(config, { externalCompanyId: 'A1' })).toBe('contact');
    expect(routeLead(config, { externalCompanyId: null })).toBe('lead');
    const byField = { ...config, leadRouting: { by: 'field' as const, marketoField: 'leadRole', values: { lead: 'Lead', contact: 'Contact' } } };
    expect(routeLead(byField, { leadRole: 'Contact' })).toBe('contact');
    const linked = splitCompanyFields({ email: 'a@b.co', company: 'Acme', annualRevenue: 10, externalCompanyId: 'A1' }, schemas);
    expect(linked).toEqual({ person: { email: 'a@b.co', externalCompanyId: 'A1' }, company: { externalCompanyId: 'A1', company: 'Acme', annualRevenue: 10 } });
    expect(splitCompanyFields({ email: 'a@b.co', company: 'Acme' }, schemas)).toEqual({ person: { email: 'a@b.co', company: 'Acme' }, company: {} });
  });

  test('Marketo → CRM keeps partial changes partial and reports bad values per field', () => {
    const toCrm = compileToCrm(suggested(), 'lead', 'contact', schemas, describe_);
    expect(toCrm({ id: 7, title: 'CTO' })).toEqual({ ok: true, record: { marketo_lead_id: 7, title: 'CTO' } });
    expect(toCrm({ id: 7, leadScore: 'lots', email: 'bad' })).toMatchObject({ ok: false, errors: [expect.stringContaining("'email'"), expect.stringContaining("'lead_score'")] });
  });
});

describe('bugs found in use', () => {
  test('a null Marketo boolean is written to a NOT NULL CRM flag as false, not a failed row', async () => {
    const toCrm = compileToCrm(suggested(), 'lead', 'lead', schemas, describe_);
    const mapped = toCrm({ id: 4242, email: 'nulls@example.com', unsubscribed: null, doNotCall: null });
    expect(mapped).toEqual({ ok: true, record: { marketo_lead_id: 4242, email: 'nulls@example.com', unsubscribed: false, do_not_call: false } });
    const [result] = await crm.upsert('lead', [mapped.record], { keyField: 'marketo_lead_id' });
    expect(result).toMatchObject({ status: 'created' });
    const [row] = await crm.getRecords('lead', [result!.status === 'created' ? result!.id : '']);
    expect(row).toMatchObject({ unsubscribed: false, do_not_call: false });
  });

  test('suggestMapping keeps opportunity probability when Marketo holds it as an integer percent', () => {
    const intProbability = MarketoSchemas.parse({
      ...schemas,
      opportunity: { ...schemas.opportunity!, fields: schemas.opportunity!.fields.map((f) => (f.name === 'probability' ? { ...f, dataType: 'integer' } : f)) },
    });
    const config = suggestMapping(intProbability, describe_);
    const opp = entity(config, 'opportunity', 'opportunity');
    expect(opp.fields).toContainEqual(expect.objectContaining({ marketo: 'probability', crm: 'probability', direction: 'both' }));
    expect(opp.derived).toContainEqual(expect.objectContaining({ marketo: 'expectedRevenue', rule: 'expectedRevenue' }));
    expect(validateMapping(config, intProbability, describe_).errors).toEqual([]);
    // The CRM's decimal percent as the connector reads it: whole values go, a fraction fails that record alone.
    const toMarketo = compileToMarketo(config, 'opportunity', 'opportunity', intProbability, describe_);
    expect(toMarketo({ id: 'O1', amount: '200.00', probability: '40.0000' })).toMatchObject({ ok: true, record: { probability: 40, expectedRevenue: 80 } });
    expect(toMarketo({ id: 'O2', probability: '33.5000' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/'probability': expected an integer/)] });
  });

  test('suggestions never pair Marketo key columns as ordinary fields nor map Marketo-only entities', () => {
    const config = suggestMapping(schemas, describe_, { customObjects: { car_c: 'campaign' } });
    expect(config.entities.map((e) => e.crm)).not.toContain('campaign');
    const keyed = config.entities.flatMap((e) => e.fields.filter((f) => ['external_company_id', 'external_sales_person_id', 'external_opportunity_id', 'marketo_guid'].includes(f.crm)).map((f) => `${e.crm}.${f.crm}`));
    expect(keyed).toEqual([]);
  });
});
