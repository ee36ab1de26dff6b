import { describe, expect, it } from '@jest/globals';
import { activitySchema } from '../../src/marketo/activities.js';
import { activityRowSchema } from '../../src/marketo/bulk/rows.js';
import { activityRecord, ActivityRecordError, attributesJson } from '../../src/marketing/activity-record.js';

// The same activity as Marketo's REST read (§9.4) and its bulk export (§10.3) write it.
const restJson = {
  id: 783957693,
  marketoGUID: '783957693',
  leadId: 5414087,
  activityDate: '2022-02-13T14:06:20+0000',
  activityTypeId: 104,
  campaignId: 8497,
  primaryAttributeValueId: 1670,
  primaryAttributeValue: 'MembershipTest1',
  attributes: [
    { name: 'Success', value: false },
    { name: 'Acquired By', value: true },
    { name: 'New Status', value: 'On List' },
    { name: 'Program Member ID', value: 3240303 },
  ],
};
const bulkCells = {
  marketoGUID: '783957693',
  leadId: '5414087',
  activityDate: '2022-02-13T14:06:20Z',
  activityTypeId: '104',
  campaignId: '8497',
  primaryAttributeValueId: '1670',
  primaryAttributeValue: 'MembershipTest1',
  attributes: '{"Program Member ID":3240303,"Acquired By":true,"New Status":"On List","Success":false}',
};

describe('activityRecord', () => {
  it('turns the REST shape into a CRM activity record', () => {
    const record = activityRecord(activitySchema.parse(restJson), { typeName: 'Change Status in Progression', person: { crmType: 'contact', crmId: 'C000000000042' } });
    expect(record).toEqual({
      marketo_guid: '783957693',
      activity_type_id: 104,
      activity_type: 'Change Status in Progression',
      activity_date: '2022-02-13T14:06:20.000Z',
      marketo_lead_id: 5414087,
      lead_id: null,
      contact_id: 'C000000000042',
      marketo_campaign_id: 8497,
      primary_attribute_value_id: '1670',
      primary_attribute_value: 'MembershipTest1',
      attributes: '{"Acquired By":true,"New Status":"On List","Program Member ID":3240303,"Success":false}',
    });
  });

  it('gives the bulk row of the same activity the identical record', () => {
    const fromRest = activityRecord(activitySchema.parse(restJson), { person: { crmType: 'lead', crmId: 'L1' } });
    const fromBulk = activityRecord(activityRowSchema.parse(bulkCells), { person: { crmType: 'lead', crmId: 'L1' } });
    expect(fromBulk).toEqual(fromRest);
    expect(fromBulk.lead_id).toBe('L1');
    expect(fromBulk.activity_type).toBeNull();
  });

  it('takes the older name/value attribute list of bulk files and null cells', () => {
    const row = activityRowSchema.parse({ ...bulkCells, campaignId: null, primaryAttributeValueId: null, primaryAttributeValue: null, attributes: '[{"name":"Source Type","value":"Web page visit"}]' });
    const record = activityRecord(row);
    expect(record).toMatchObject({ marketo_campaign_id: null, primary_attribute_value_id: null, primary_attribute_value: null, attributes: '{"Source Type":"Web page visit"}', lead_id: null, contact_id: null });
  });

  it('writes no attributes as null, and REST activities without campaignId', () => {
    const rest = activitySchema.parse({ marketoGUID: 'g-1', leadId: 7, activityDate: '2023-01-16T23:32:19Z', activityTypeId: 1 });
    expect(activityRecord(rest)).toMatchObject({ marketo_guid: 'g-1', attributes: null, marketo_campaign_id: null, primary_attribute_value: null });
  });

  it('fails naming the field when a bulk export left out a required column', () => {
    const row = activityRowSchema.parse({ marketoGUID: 'g-2', leadId: '9', activityTypeId: '1' });
    expect(() => activityRecord(row)).toThrow(ActivityRecordError);
    expect(() => activityRecord(row)).toThrow(/g-2: activityDate/);
    try {
      activityRecord(row);
    } catch (err) {
      expect((err as ActivityRecordError).field).toBe('activityDate');
    }
  });

  it('refuses values the CRM columns cannot hold instead of truncating them', () => {
    const row = activityRowSchema.parse({ ...bulkCells, marketoGUID: 'x'.repeat(65) });
    expect(() => activityRecord(row)).toThrow(/marketo_guid is 65 characters/);
    expect(() => activityRecord(activityRowSchema.parse(bulkCells), { typeName: 'n'.repeat(256) })).toThrow(/activity_type/);
  });

  it('refuses a malformed date rather than shifting it', () => {
    expect(() => activityRecord({ ...activityRowSchema.parse(bulkCells), activityDate: '2022-02-30T00:00:00Z' })).toThrow(/activityDate: not a calendar date/);
  });

  it('orders attribute keys so equal attributes give equal text', () => {
    expect(attributesJson({ b: 1, a: 2 })).toBe(attributesJson({ a: 2, b: 1 }));
    expect(attributesJson({})).toBeNull();
  });
});
