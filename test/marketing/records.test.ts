import { describe, expect, it } from '@jest/globals';
import type { CrmDescribe, CrmField } from '../../src/crm/connector.js';
import { MappingConfig } from '../../src/mapping/mapping-config.js';
import { MarketoSchemas } from '../../src/mapping/marketo-schema.js';
import { programSchema } from '../../src/marketo/programs.js';
import { staticListSchema } from '../../src/marketo/lists.js';
import { recordRowSchema } from '../../src/marketo/bulk/rows.js';
import { campaignMemberRecord, campaignRecord } from '../../src/marketing/campaign-record.js';
import { MarketingRecordError } from '../../src/marketing/cells.js';
import { compileCustomObjectPlan, enabledCustomObjects } from '../../src/marketing/custom-object-record.js';
import { listMemberRecord, staticListRecord } from '../../src/marketing/static-list-record.js';

describe('campaignRecord', () => {
  // marketo-api.md §8.2: the asset API's item, with its `Z+0000` dates.
  const program = programSchema.parse({
    id: 1035, name: 'clone it', description: '', createdAt: '2015-11-18T15:25:35Z+0000', updatedAt: '2015-11-18T15:25:46Z+0000',
    url: 'https://app-devlocal1.marketo.com/#NP1035A1', type: 'Engagement', channel: 'Nurture',
    folder: { type: 'Folder', value: 28, folderName: 'Nurturing' }, status: 'on', workspace: 'Default', headStart: false,
  });

  it('maps a program to a campaign keyed on its id', () => {
    expect(campaignRecord(program)).toEqual({
      marketo_program_id: 1035, name: 'clone it', description: null, program_type: 'Engagement', channel: 'Nurture', status: 'on',
      workspace: 'Default', url: 'https://app-devlocal1.marketo.com/#NP1035A1', marketo_created_at: '2015-11-18T15:25:35.000Z', marketo_updated_at: '2015-11-18T15:25:46.000Z',
    });
  });

  it('gives the wire JSON (as a reconciliation reads it) the same record as the parsed program', () => {
    expect(campaignRecord(JSON.parse(JSON.stringify(program)) as Parameters<typeof campaignRecord>[0])).toEqual(campaignRecord(program));
  });

  it('writes the empty status of default programs as null and refuses names the CRM cannot hold', () => {
    expect(campaignRecord({ ...program, status: '' }).status).toBeNull();
    expect(() => campaignRecord({ ...program, name: 'x'.repeat(256) })).toThrow(MarketingRecordError);
  });
});

describe('campaignMemberRecord', () => {
  const row = recordRowSchema.parse({ programId: '1044', leadId: '319141', membershipDate: '2020-04-21T16:27:16Z', progressionStatus: 'Visited', acquiredBy: 'true', reachedSuccess: 'false' });

  it('maps a bulk member row with its campaign and person', () => {
    expect(campaignMemberRecord(row, { campaignId: 'P000000000001', person: { crmType: 'lead', crmId: 'L1' } })).toEqual({
      marketo_key: '1044:319141', campaign_id: 'P000000000001', marketo_program_id: 1044, marketo_lead_id: 319141, lead_id: 'L1', contact_id: null,
      status: 'Visited', is_success: false, success_date: null, membership_date: '2020-04-21T16:27:16.000Z', acquired_by: true,
    });
  });

  it('gives the REST membership (Get Leads by Program Id) the same record', () => {
    const rest = { programId: 1044, leadId: 319141, progressionStatus: 'Visited', acquiredBy: true, reachedSuccess: false, membershipDate: '2020-04-21T16:27:16Z', isExhausted: false };
    expect(campaignMemberRecord(rest, { campaignId: 'P1' })).toEqual(campaignMemberRecord(row, { campaignId: 'P1' }));
  });

  it('names the field of a row it refuses', () => {
    expect(() => campaignMemberRecord({ ...row, acquiredBy: 'maybe' }, { campaignId: null })).toThrow(/acquiredBy/);
    expect(() => campaignMemberRecord({ ...row, leadId: null }, { campaignId: null })).toThrow(/leadId/);
  });
});

describe('static lists', () => {
  it('maps a list and a membership', () => {
    const list = staticListSchema.parse({ id: 1, name: 'Foo', description: 'Foo description', programName: 'Foo program name', workspaceName: 'Default', createdAt: '2016-05-05T16:37:00Z', updatedAt: '2016-05-19T17:27:41Z' });
    expect(staticListRecord(list)).toEqual({
      marketo_list_id: 1, name: 'Foo', description: 'Foo description', program_name: 'Foo program name', workspace: 'Default',
      marketo_created_at: '2016-05-05T16:37:00.000Z', marketo_updated_at: '2016-05-19T17:27:41.000Z',
    });
    expect(listMemberRecord(1, 1141, { staticListId: 'S1', person: { crmType: 'contact', crmId: 'C9' } })).toEqual({
      marketo_key: '1:1141', static_list_id: 'S1', marketo_list_id: 1, marketo_lead_id: 1141, lead_id: null, contact_id: 'C9',
    });
  });
});

describe('compileCustomObjectPlan', () => {
  const field = (name: string, type: CrmField['type'], extra: Partial<CrmField> = {}): CrmField => ({ name, type, nullable: true, updateable: true, unique: false, custom: true, ...extra });
  const describe = (dedupe: string[]): CrmDescribe => ({
    entities: [{
      name: 'custom:car', label: 'car', idField: 'id',
      fields: [field('id', 'string', { updateable: false, unique: true }), field('marketo_guid', 'string', { unique: true }), field('lead_id', 'reference'), field('contact_id', 'reference'),
        field('vin', 'string', { unique: dedupe.length === 1 }), field('model', 'string'), field('year', 'integer'), field('owner_id', 'integer')],
    }],
  });
  const schemas = (dedupe: string[]) => MarketoSchemas.parse({
    lead: { name: 'API Lead', searchableFields: [['id']], fields: [{ name: 'id', dataType: 'integer', updateable: false }] },
    customObjects: {
      car_c: {
        name: 'car_c', idField: 'marketoGUID', dedupeFields: dedupe, searchableFields: [dedupe],
        fields: [
          { name: 'marketoGUID', dataType: 'string', updateable: false }, { name: 'vin', dataType: 'string', updateable: false },
          { name: 'model', dataType: 'string', updateable: true }, { name: 'year', dataType: 'integer', updateable: true }, { name: 'ownerId', dataType: 'integer', updateable: true },
        ],
        relationships: [{ field: 'ownerId', type: 'parent', relatedTo: { name: 'Lead', field: 'id' } }],
      },
    },
  });
  const config = MappingConfig.parse({
    version: 1, leadKey: { marketoField: 'crmId' },
    entities: [{ marketo: 'customObject:car_c', crm: 'custom:car', fields: [
      { marketo: 'vin', crm: 'vin', direction: 'toCrm' }, { marketo: 'model', crm: 'model', direction: 'toCrm' },
      { marketo: 'year', crm: 'year', direction: 'toCrm' }, { marketo: 'ownerId', crm: 'owner_id', direction: 'toCrm' },
    ] }],
  });
  const row = recordRowSchema.parse({ marketoGUID: 'dff23271-f996-47d7-984f-f2676861b5fb', vin: '1HGCM82633A004352', model: 'Civic', year: '2019', ownerId: '42' });

  it('exports the key, the lead link and the mapped fields, and upserts on the single dedupe column', () => {
    const plan = compileCustomObjectPlan(config, enabledCustomObjects(config)[0]!, schemas(['vin']), describe(['vin']));
    expect(plan).toMatchObject({ apiName: 'car_c', crmEntity: 'custom:car', keyField: 'vin', leadIdField: 'ownerId' });
    expect(plan.exportFields).toEqual(['marketoGUID', 'vin', 'ownerId', 'model', 'year']);
    expect(plan.leadId(row)).toBe(42);
    expect(plan.toRecord(row, { crmType: 'contact', crmId: 'C42' })).toEqual({
      vin: '1HGCM82633A004352', model: 'Civic', year: 2019, owner_id: 42, marketo_guid: 'dff23271-f996-47d7-984f-f2676861b5fb', lead_id: null, contact_id: 'C42',
    });
  });

  it('keys a compound dedupe key on the GUID, and refuses rows without their key or with a bad value', () => {
    const plan = compileCustomObjectPlan(config, enabledCustomObjects(config)[0]!, schemas(['vin', 'model']), describe(['vin', 'model']));
    expect(plan.keyField).toBe('marketo_guid');
    expect(plan.recordKey(row)).toBe('1HGCM82633A004352|Civic');
    expect(() => plan.toRecord({ ...row, model: null }, undefined)).toThrow(/dedupe field model is empty/);
    expect(() => plan.toRecord({ ...row, year: 'soon' }, undefined)).toThrow(MarketingRecordError);
    expect(() => plan.toRecord({ ...row, marketoGUID: null }, undefined)).toThrow(/marketoGUID is missing/);
  });

  it('reads only enabled custom object entities of a mapping', () => {
    expect(enabledCustomObjects(MappingConfig.parse({ ...config, entities: [{ ...config.entities[0]!, enabled: false }] }))).toEqual([]);
    expect(enabledCustomObjects(undefined)).toEqual([]);
  });
});
