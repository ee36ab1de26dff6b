import { z } from 'zod';
import { envelopeSchema, recordResultSchema } from '../../src/marketo/envelope.js';
import { leadSchema, leadWithMembershipSchema } from '../../src/marketo/leads.js';
import { activitySchema, leadChangeSchema } from '../../src/marketo/activities.js';
import { objectRecordSchema } from '../../src/marketo/objects.js';
import { objectMetadataSchema, leadDescribe2Schema } from '../../src/marketo/describe-schemas.js';
import { programSchema } from '../../src/marketo/programs.js';
import { staticListSchema } from '../../src/marketo/lists.js';
import { toOutcomes } from '../../src/marketo/results.js';
import { toPage } from '../../src/marketo/paging.js';
import { MarketoApiError } from '../../src/marketo/errors.js';

// Bodies recorded from real Marketo traffic or copied from Adobe's docs (marketo-api.md).
const recorded = {
  leadByEmail:
    '{"requestId":"3e0#1743e2b4c03","result":[{"id":2149,"firstName":"Brian","lastName":null,"email":"brian@bleonard.com","updatedAt":"2020-08-30T07:00:58Z","createdAt":"2020-08-30T07:00:58Z"}],"success":true}',
  noMatch: '{"requestId":"10a88#1743e2b384b","result":[],"success":true}',
  syncSkipped:
    '{"requestId":"e42b#14272d07d78","success":true,"result":[{"id":50,"status":"created"},{"status":"skipped","reasons":[{"code":"1003","message":"Invalid value for field \'boolean_field\'"}]},{"id":1,"status":"updated"}]}',
  objectSync:
    '{"requestId":"e42b#14272d07d78","success":true,"result":[{"seq":0,"status":"updated","marketoGUID":"dff23271-f996-47d7-984f-f2676861b5fb"},{"seq":1,"status":"created","marketoGUID":"cff23271-f996-47d7-984f-f2676861b5fb"},{"seq":2,"status":"skipped","reasons":[{"code":"1004","message":"Lead not found"}]}]}',
  customActivitySkipped:
    '{"requestId":"1","success":true,"result":[{"id":50,"marketoGUID":"50","status":"added"},{"status":"skipped","errors":[{"code":"1004","message":"Lead not found"}]}]}',
  companies:
    '{"requestId":"e42b#14272d07d78","success":true,"result":[{"seq":0,"id":3433,"externalCompanyId":"19UYA31581L000000","company":"Google"},{"seq":1,"id":5345,"externalCompanyId":"29UYA31581L000000","company":"Yahoo"}]}',
  activities:
    '{"requestId":"24fd#15188a88d7f","success":true,"nextPageToken":"WQV2VQVPPCKHC6AQYVK7JDSA3J62DUSJ3EXJGDPTKPEBFW3SAVUA====","moreResult":false,"result":[{"id":102988,"marketoGUID":"102988","leadId":1,"activityDate":"2023-01-16T23:32:19Z","activityTypeId":1,"primaryAttributeValueId":71,"primaryAttributeValue":"localhost/munchkintest2.html","attributes":[{"name":"Client IP Address","value":"10.0.19.252"},{"name":"Query Parameters","value":""}]}]}',
  leadChange:
    '{"requestId":"x","success":true,"nextPageToken":"GIYDAOBNGEYS2MBWKQYDAORQGA5DAMBOGAYDAKZQGAYDALBRGA3TQ===","moreResult":true,"result":[{"id":1078,"marketoGUID":"1078","leadId":775,"activityDate":"2014-09-17T22:31:49+0000","activityTypeId":13,"fields":[{"id":48,"name":"firstName","newValue":"FirstName_6176","oldValue":"FirstName_4914"}],"attributes":[{"name":"Reason","value":"Web service API"},{"name":"Lead ID","value":775}]}]}',
  deletedLead:
    '{"requestId":"x","success":true,"nextPageToken":"T","moreResult":false,"result":[{"id":2,"marketoGUID":"2","leadId":6,"activityDate":"2013-09-26T06:56:35+0000","activityTypeId":37,"primaryAttributeValueId":6,"primaryAttributeValue":"Owyliphys Iledil","attributes":[]}]}',
  programMember:
    '{"requestId":"x","success":true,"result":[{"id":319141,"firstName":"Meera","lastName":"Reed","email":"mree@housestark.com","updatedAt":"2020-04-21T16:27:14Z","createdAt":"2020-04-21T16:27:14Z","membership":{"id":1127,"progressionStatus":"Visited","progressionStatusType":"Visited","isExhausted":false,"acquiredBy":true,"reachedSuccess":false,"membershipDate":"2020-04-21T16:27:16Z","updatedAt":"2020-04-21T16:27:16Z"}}]}',
  customObjectList:
    '{"requestId":"185d6#14b51985ff0","success":true,"result":[{"name":"Car","displayName":"Car","description":"Car owner","createdAt":"2015-02-03T22:36:23Z","updatedAt":"2015-02-03T22:36:24Z","idField":"marketoGUID","dedupeFields":["vin"],"searchableFields":[["vin"],["marketoGUID"],["siebelId"]],"relationships":[{"field":"siebelId","type":"parent","relatedTo":{"name":"Lead","field":"siebelId"}}]}]}',
  describe2:
    '{"requestId":"7fa1#17fd1da66fe","success":true,"result":[{"name":"API Lead","searchableFields":[["email"],["id"],["sfdcLeadId"],["leadPartitionId"],["cookies"]],"fields":[{"name":"email","displayName":"Email Address","dataType":"email","length":255,"updateable":true,"crmManaged":false},{"name":"acquisitionProgramId","displayName":"Acquisition Program","dataType":"reference","updateable":true,"crmManaged":false}]}]}',
  programs:
    '{"success":true,"errors":[],"requestId":"e572#1743e0c8396","warnings":[],"result":[{"id":1035,"name":"clone it","description":"","createdAt":"2015-11-18T15:25:35Z+0000","updatedAt":"2015-11-18T15:25:46Z+0000","url":"https://app-devlocal1.marketo.com/#NP1035A1","type":"Engagement","channel":"Nurture","folder":{"type":"Folder","value":28,"folderName":"Nurturing"},"status":"on","workspace":"Default","headStart":false}]}',
  noAssets: '{"success":true,"errors":[],"requestId":"e572#1743e0c8396","warnings":["No assets found for the given search criteria."]}',
  lists:
    '{"requestId":"x","success":true,"result":[{"id":1,"name":"Foo","description":"Foo description","programName":"Foo program name","workspaceName":"Default","createdAt":"2016-05-05T16:37:00Z","updatedAt":"2016-05-19T17:27:41Z"}]}',
  failure: '{"requestId":"e42b#14272d07d78","success":false,"errors":[{"code":"601","message":"Access token invalid"}]}',
};

const parse = <S extends z.ZodType>(body: string, item: S) => envelopeSchema(item).parse(JSON.parse(body));

describe('envelope parsing with recorded bodies', () => {
  it('keeps arbitrary lead fields, nulls included', () => {
    const env = parse(recorded.leadByEmail, leadSchema);
    expect(env.result?.[0]).toEqual({ id: 2149, firstName: 'Brian', lastName: null, email: 'brian@bleonard.com', updatedAt: '2020-08-30T07:00:58Z', createdAt: '2020-08-30T07:00:58Z' });
    expect(toPage(env)).toMatchObject({ moreResult: false, items: [{ id: 2149 }] });
    expect(toPage(parse(recorded.noMatch, leadSchema)).items).toEqual([]);
  });

  it('returns lead sync outcomes in input order with seq, skipped ones with reasons', () => {
    const outcomes = toOutcomes(parse(recorded.syncSkipped, recordResultSchema), 3, 'test');
    expect(outcomes.map((o) => [o.seq, o.status])).toEqual([[0, 'created'], [1, 'skipped'], [2, 'updated']]);
    expect(outcomes[1]!.reasons).toEqual([{ code: '1003', message: "Invalid value for field 'boolean_field'" }]);
    expect(outcomes[0]).toMatchObject({ id: 50, reasons: [] });
  });

  it('uses the seq Marketo sends on object results', () => {
    const outcomes = toOutcomes(parse(recorded.objectSync, recordResultSchema), 3, 'test');
    expect(outcomes[0]).toMatchObject({ seq: 0, status: 'updated', marketoGUID: 'dff23271-f996-47d7-984f-f2676861b5fb' });
    expect(outcomes[2]).toMatchObject({ seq: 2, status: 'skipped', reasons: [{ code: '1004', message: 'Lead not found' }] });
  });

  it("normalises custom activities' `errors` into reasons", () => {
    const outcomes = toOutcomes(parse(recorded.customActivitySkipped, recordResultSchema), 2, 'test');
    expect(outcomes[1]).toMatchObject({ status: 'skipped', reasons: [{ code: '1004', message: 'Lead not found' }] });
    expect(outcomes[1]).not.toHaveProperty('errors');
  });

  it('fails loudly when results and inputs do not line up', () => {
    expect(() => toOutcomes(parse(recorded.syncSkipped, recordResultSchema), 4, 'POST /x')).toThrow(MarketoApiError);
    expect(() => toOutcomes(parse(recorded.syncSkipped, recordResultSchema), 4, 'POST /x')).toThrow(/expected 4 per-record results, got 3/);
  });

  it('rejects a skipped record without reasons and an unknown status', () => {
    expect(() => parse('{"requestId":"a","success":true,"result":[{"status":"skipped"}]}', recordResultSchema)).toThrow(/skipped record without reasons/);
    expect(() => parse('{"requestId":"a","success":true,"result":[{"status":"exploded"}]}', recordResultSchema)).toThrow(/status/);
  });

  it('parses object query results with seq', () => {
    const env = parse(recorded.companies, objectRecordSchema);
    expect(env.result?.[1]).toEqual({ seq: 1, id: 5345, externalCompanyId: '29UYA31581L000000', company: 'Yahoo' });
  });

  it('parses activities, lead changes and deleted leads with every date form', () => {
    const acts = toPage(parse(recorded.activities, activitySchema));
    expect(acts.moreResult).toBe(false);
    expect(acts.nextPageToken).toBe('WQV2VQVPPCKHC6AQYVK7JDSA3J62DUSJ3EXJGDPTKPEBFW3SAVUA====');
    expect(acts.items[0]!.activityDate.toISOString()).toBe('2023-01-16T23:32:19.000Z');
    const changes = toPage(parse(recorded.leadChange, leadChangeSchema));
    expect(changes.moreResult).toBe(true);
    expect(changes.items[0]!.fields[0]).toEqual({ id: 48, name: 'firstName', newValue: 'FirstName_6176', oldValue: 'FirstName_4914' });
    expect(changes.items[0]!.activityDate.toISOString()).toBe('2014-09-17T22:31:49.000Z');
    const deleted = parse(recorded.deletedLead, activitySchema);
    expect(deleted.result?.[0]).toMatchObject({ leadId: 6, activityTypeId: 37, attributes: [] });
  });

  it('parses leads by program with their membership', () => {
    const env = parse(recorded.programMember, leadWithMembershipSchema);
    expect(env.result?.[0]!.membership).toMatchObject({ progressionStatus: 'Visited', acquiredBy: true, reachedSuccess: false });
    expect(env.result?.[0]!.membership.membershipDate.toISOString()).toBe('2020-04-21T16:27:16.000Z');
  });

  it('parses describe shapes', () => {
    const co = parse(recorded.customObjectList, objectMetadataSchema).result![0]!;
    expect(co).toMatchObject({ idField: 'marketoGUID', dedupeFields: ['vin'], searchableFields: [['vin'], ['marketoGUID'], ['siebelId']] });
    const d2 = parse(recorded.describe2, leadDescribe2Schema).result![0]!;
    expect(d2.fields.map((f) => f.name)).toEqual(['email', 'acquisitionProgramId']);
  });

  it('parses asset API envelopes, including the empty one with a string warning and no result', () => {
    const programs = parse(recorded.programs, programSchema);
    expect(programs.result?.[0]!.createdAt.toISOString()).toBe('2015-11-18T15:25:35.000Z');
    expect(programs.result?.[0]).toMatchObject({ headStart: false, folder: { value: 28, folderName: 'Nurturing' } });
    const empty = toPage(parse(recorded.noAssets, programSchema));
    expect(empty.items).toEqual([]);
    expect(empty.warnings).toEqual(['No assets found for the given search criteria.']);
  });

  it('parses static lists and failure envelopes', () => {
    expect(parse(recorded.lists, staticListSchema).result?.[0]!.updatedAt.toISOString()).toBe('2016-05-19T17:27:41.000Z');
    const failure = parse(recorded.failure, z.unknown());
    expect(failure).toMatchObject({ success: false, errors: [{ code: '601', message: 'Access token invalid' }] });
  });

  it('names the field that breaks the shape', () => {
    const bad = '{"requestId":"x","success":true,"result":[{"id":"12","firstName":"A"}]}';
    expect(() => parse(bad, leadSchema)).toThrow(/id/);
    const badDate = '{"requestId":"x","success":true,"result":[{"marketoGUID":"1","leadId":1,"activityDate":"2014-11-13 12:43:04","activityTypeId":1}]}';
    expect(() => parse(badDate, activitySchema)).toThrow(/activityDate/);
  });
});
