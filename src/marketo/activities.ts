import { z } from 'zod';
import { formatMarketoDateTime } from './dates.js';
import { marketoDateTime, recordResultSchema } from './envelope.js';
import { paginateByToken, toPage, type Page } from './paging.js';
import { batchInput, parseInput, toOutcomes, type RecordOutcome } from './results.js';
import type { MarketoTransport } from './transport.js';

export const activityTypeSchema = z.looseObject({
  id: z.number().int().positive(),
  name: z.string(),
  description: z.string().nullable().optional(),
  apiName: z.string().optional(),
  primaryAttribute: z.looseObject({ name: z.string(), dataType: z.string(), apiName: z.string().optional() }).optional(),
  attributes: z.array(z.looseObject({ name: z.string(), dataType: z.string(), apiName: z.string().optional() })).default([]),
});
export type ActivityType = z.output<typeof activityTypeSchema>;

const attributeSchema = z.looseObject({ name: z.string(), value: z.unknown(), apiName: z.string().optional() });

/**
 * An activity. `marketoGUID` is the unique id (integer `id` is no longer unique after the Activity Service
 * migration); `activityDate` becomes a Date; empty attributes may be omitted by Marketo.
 */
export const activitySchema = z.looseObject({
  id: z.number().int().optional(),
  marketoGUID: z.string().min(1),
  leadId: z.number().int(),
  activityDate: marketoDateTime,
  activityTypeId: z.number().int(),
  campaignId: z.number().int().nullable().optional(),
  primaryAttributeValueId: z.number().int().nullable().optional(),
  primaryAttributeValue: z.string().nullable().optional(),
  attributes: z.array(attributeSchema).default([]),
});
export type Activity = z.output<typeof activitySchema>;

export const leadChangeSchema = activitySchema.extend({
  fields: z.array(z.looseObject({ id: z.number().int(), name: z.string(), newValue: z.unknown(), oldValue: z.unknown() })).default([]),
});
export type LeadChange = z.output<typeof leadChangeSchema>;

const tokenSchema = z.string().min(1);
const batchSizeSchema = z.number().int().min(1).max(300).optional();
const leadScope = {
  listId: z.number().int().positive().optional(),
  leadIds: z.array(z.number().int().positive()).min(1).max(30, 'at most 30 leadIds').optional(),
};
const scopeCheck = (q: { listId?: number | undefined; leadIds?: number[] | undefined }) => !(q.listId !== undefined && q.leadIds !== undefined);

const activitiesQuerySchema = z
  .object({
    nextPageToken: tokenSchema,
    activityTypeIds: z.array(z.number().int().positive()).min(1, 'activityTypeIds is required').max(10, 'at most 10 activityTypeIds'),
    assetIds: z.array(z.number().int()).min(1).optional(),
    ...leadScope,
    batchSize: batchSizeSchema,
  })
  .strict()
  .refine(scopeCheck, { message: 'listId and leadIds are exclusive', path: ['leadIds'] })
  .refine((q) => !q.assetIds || q.activityTypeIds.length === 1, { message: 'assetIds need exactly one activity type', path: ['assetIds'] });
export type ActivitiesQuery = z.input<typeof activitiesQuerySchema>;

const leadChangesQuerySchema = z
  .object({
    nextPageToken: tokenSchema,
    fields: z.array(z.string().min(1)).min(1, 'fields is required'),
    ...leadScope,
    batchSize: batchSizeSchema,
  })
  .strict()
  .refine(scopeCheck, { message: 'listId and leadIds are exclusive', path: ['leadIds'] });
export type LeadChangesQuery = z.input<typeof leadChangesQuerySchema>;

const deletedLeadsQuerySchema = z.object({ nextPageToken: tokenSchema, batchSize: batchSizeSchema }).strict();
export type DeletedLeadsQuery = z.input<typeof deletedLeadsQuerySchema>;

const customActivitySchema = z.looseObject({
  leadId: z.number().int().positive(),
  activityDate: z.union([z.date().transform(formatMarketoDateTime), z.string().min(1)]),
  activityTypeId: z.number().int().positive(),
  primaryAttributeValue: z.string(),
  attributes: z.array(z.looseObject({ value: z.unknown(), name: z.string().optional(), apiName: z.string().optional() })),
});
export type CustomActivityInput = z.input<typeof customActivitySchema>;

export class ActivitiesApi {
  constructor(private readonly t: MarketoTransport) {}

  async types(): Promise<ActivityType[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/activities/types.json' }, activityTypeSchema)).result ?? [];
  }

  /** A token positioned at `since`: the start of every activity, lead-change and deleted-lead read. */
  async pagingToken(since: Date): Promise<string> {
    const env = await this.t.request(
      { method: 'GET', path: '/rest/v1/activities/pagingtoken.json', query: { sinceDatetime: formatMarketoDateTime(since) }, timeoutMs: 320_000 },
      z.unknown(),
    );
    return parseInput(tokenSchema, env.nextPageToken, 'paging token response');
  }

  /** One page; persist `nextPageToken` to resume. Pages may be short or empty while `moreResult` is true. */
  async get(query: ActivitiesQuery): Promise<Page<Activity>> {
    const q = parseInput(activitiesQuerySchema, query, 'activities query');
    return toPage(await this.t.request({ method: 'GET', path: '/rest/v1/activities.json', query: { ...q } }, activitySchema));
  }

  iterate(query: ActivitiesQuery): AsyncGenerator<Page<Activity>> {
    return paginateByToken((nextPageToken) => this.get({ ...query, nextPageToken: nextPageToken ?? query.nextPageToken }), query.nextPageToken);
  }

  /** New Lead (12) and Change Data Value (13) activities, with old/new values of the requested fields. */
  async leadChanges(query: LeadChangesQuery): Promise<Page<LeadChange>> {
    const q = parseInput(leadChangesQuerySchema, query, 'lead changes query');
    return toPage(await this.t.request({ method: 'GET', path: '/rest/v1/activities/leadchanges.json', query: { ...q } }, leadChangeSchema));
  }

  iterateLeadChanges(query: LeadChangesQuery): AsyncGenerator<Page<LeadChange>> {
    return paginateByToken((nextPageToken) => this.leadChanges({ ...query, nextPageToken: nextPageToken ?? query.nextPageToken }), query.nextPageToken);
  }

  /** Delete Lead (37) activities; Marketo keeps them about 14 days. */
  async deletedLeads(query: DeletedLeadsQuery): Promise<Page<Activity>> {
    const q = parseInput(deletedLeadsQuerySchema, query, 'deleted leads query');
    return toPage(await this.t.request({ method: 'GET', path: '/rest/v1/activities/deletedleads.json', query: { ...q } }, activitySchema));
  }

  iterateDeletedLeads(query: DeletedLeadsQuery): AsyncGenerator<Page<Activity>> {
    return paginateByToken((nextPageToken) => this.deletedLeads({ ...query, nextPageToken: nextPageToken ?? query.nextPageToken }), query.nextPageToken);
  }

  /** Writes custom activities; skipped items come back with reasons (Marketo calls them `errors`). */
  async addCustom(input: CustomActivityInput[]): Promise<RecordOutcome[]> {
    const records = parseInput(batchInput(customActivitySchema), input, 'custom activities');
    const env = await this.t.request(
      { method: 'POST', path: '/rest/v1/activities/external.json', body: { kind: 'json', value: { input: records } }, timeoutMs: 100_000 },
      recordResultSchema,
    );
    return toOutcomes(env, records.length, 'POST /rest/v1/activities/external.json');
  }
}
