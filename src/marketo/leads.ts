import { z } from 'zod';
import { anyRecordSchema, marketoDateTime, recordResultSchema } from './envelope.js';
import { paginateByToken, toPage, type Page } from './paging.js';
import { batchInput, parseInput, toOutcomes, type RecordOutcome } from './results.js';
import type { MarketoTransport } from './transport.js';

/** A lead: `id` is checked, every other field is whatever the instance's schema holds. */
export const leadSchema = z.looseObject({ id: z.number().int().positive() });
export type Lead = z.output<typeof leadSchema>;

export const programMembershipSchema = z.looseObject({
  progressionStatus: z.string(),
  acquiredBy: z.boolean(),
  reachedSuccess: z.boolean(),
  membershipDate: marketoDateTime,
  id: z.number().int().optional(),
  progressionStatusType: z.string().optional(),
  isExhausted: z.boolean().optional(),
  stream: z.string().nullable().optional(),
  nurtureCadence: z.string().nullable().optional(),
  reachedSuccessDate: marketoDateTime.nullable().optional(),
  updatedAt: marketoDateTime.optional(),
});
export const leadWithMembershipSchema = z.looseObject({ id: z.number().int().positive(), membership: programMembershipSchema });
export type LeadWithMembership = z.output<typeof leadWithMembershipSchema>;

const fieldsSchema = z.array(z.string().min(1)).min(1).optional();
const batchSizeSchema = z.number().int().min(1).max(300).optional();
const keyValue = z.union([z.string().min(1), z.number()]);

const byFilterSchema = z
  .object({
    filterType: z.string().min(1),
    filterValues: z.array(keyValue).min(1, 'filterValues is empty').max(300, 'at most 300 filterValues per call'),
    fields: fieldsSchema,
    batchSize: batchSizeSchema,
    nextPageToken: z.string().min(1).optional(),
  })
  .strict();
export type LeadsByFilterQuery = z.input<typeof byFilterSchema>;

const pagedSchema = z.object({ fields: fieldsSchema, batchSize: batchSizeSchema, nextPageToken: z.string().min(1).optional() }).strict();
export type PagedQuery = z.input<typeof pagedSchema>;

const syncSchema = z
  .object({
    action: z.enum(['createOnly', 'updateOnly', 'createOrUpdate', 'createDuplicate']).default('createOrUpdate'),
    lookupField: z.string().min(1).optional(),
    partitionName: z.string().min(1).optional(),
    input: batchInput(anyRecordSchema),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.lookupField === 'id' && r.action !== 'updateOnly') {
      ctx.addIssue({ code: 'custom', path: ['lookupField'], message: "lookupField 'id' is only valid with action 'updateOnly'" });
    }
    if (r.partitionName && r.action === 'updateOnly') {
      ctx.addIssue({ code: 'custom', path: ['partitionName'], message: "partitionName is not allowed with 'updateOnly'" });
    }
    // createDuplicate never looks records up, so it needs no key.
    if (r.action === 'createDuplicate') return;
    const key = r.lookupField ?? 'email';
    r.input.forEach((rec, i) => {
      if (rec[key] === undefined || rec[key] === null || rec[key] === '') {
        ctx.addIssue({ code: 'custom', path: ['input', i, key], message: `lookup field '${key}' missing in record ${i}` });
      }
    });
  });
export type SyncLeadsRequest = z.input<typeof syncSchema>;

const idList = batchInput(z.number().int().positive());

export class LeadsApi {
  constructor(private readonly t: MarketoTransport) {}

  /** One lead, or undefined when Marketo returns `result: []`. */
  async getById(id: number, fields?: string[]): Promise<Lead | undefined> {
    parseInput(z.number().int().positive(), id, 'lead id');
    const env = await this.t.request(
      { method: 'GET', path: `/rest/v1/lead/${id}.json`, query: { fields: parseInput(fieldsSchema, fields, 'fields') } },
      leadSchema,
    );
    return env.result?.[0];
  }

  async getByFilter(query: LeadsByFilterQuery): Promise<Page<Lead>> {
    const q = parseInput(byFilterSchema, query, 'leads filter query');
    const env = await this.t.request({ method: 'GET', path: '/rest/v1/leads.json', query: { ...q } }, leadSchema);
    return toPage(env);
  }

  iterateByFilter(query: Omit<LeadsByFilterQuery, 'nextPageToken'>): AsyncGenerator<Page<Lead>> {
    return paginateByToken((nextPageToken) => this.getByFilter({ ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }

  /** Create/update up to 300 leads; one outcome per input record, in input order. */
  async sync(request: SyncLeadsRequest): Promise<RecordOutcome[]> {
    const body = parseInput(syncSchema, request, 'sync leads request');
    const env = await this.t.request(
      { method: 'POST', path: '/rest/v1/leads.json', body: { kind: 'json', value: body }, timeoutMs: 100_000 },
      recordResultSchema,
    );
    return toOutcomes(env, body.input.length, 'POST /rest/v1/leads.json');
  }

  async delete(ids: number[]): Promise<RecordOutcome[]> {
    const list = parseInput(idList, ids, 'lead ids');
    const env = await this.t.request(
      { method: 'POST', path: '/rest/v1/leads/delete.json', body: { kind: 'json', value: { input: list.map((id) => ({ id })) } } },
      recordResultSchema,
    );
    return toOutcomes(env, list.length, 'POST /rest/v1/leads/delete.json');
  }

  /** Merges losers into the winner; Marketo answers only success, so the requestId is returned for audit. */
  async merge(winnerId: number, loserIds: number[], options: { mergeInCRM?: boolean } = {}): Promise<{ requestId: string }> {
    parseInput(z.number().int().positive(), winnerId, 'winner id');
    const losers = parseInput(z.array(z.number().int().positive()).min(1).max(25, 'at most 25 losing leads per merge'), loserIds, 'loser ids');
    const env = await this.t.request(
      {
        method: 'POST',
        path: `/rest/v1/leads/${winnerId}/merge.json`,
        query: losers.length === 1 ? { leadId: losers[0], mergeInCRM: options.mergeInCRM } : { leadIds: losers, mergeInCRM: options.mergeInCRM },
        timeoutMs: 200_000,
      },
      anyRecordSchema,
    );
    return { requestId: env.requestId };
  }

  /** Members of a program, each with its `membership` object. */
  async getByProgramId(programId: number, query: PagedQuery = {}): Promise<Page<LeadWithMembership>> {
    parseInput(z.number().int().positive(), programId, 'program id');
    const q = parseInput(pagedSchema, query, 'leads by program query');
    return toPage(await this.t.request({ method: 'GET', path: `/rest/v1/leads/programs/${programId}.json`, query: { ...q } }, leadWithMembershipSchema));
  }

  iterateByProgramId(programId: number, query: Omit<PagedQuery, 'nextPageToken'> = {}): AsyncGenerator<Page<LeadWithMembership>> {
    return paginateByToken((nextPageToken) => this.getByProgramId(programId, { ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }

  /** Members of a static list. */
  async getByListId(listId: number, query: PagedQuery = {}): Promise<Page<Lead>> {
    parseInput(z.number().int().positive(), listId, 'list id');
    const q = parseInput(pagedSchema, query, 'leads by list query');
    return toPage(await this.t.request({ method: 'GET', path: `/rest/v1/lists/${listId}/leads.json`, query: { ...q } }, leadSchema));
  }

  iterateByListId(listId: number, query: Omit<PagedQuery, 'nextPageToken'> = {}): AsyncGenerator<Page<Lead>> {
    return paginateByToken((nextPageToken) => this.getByListId(listId, { ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }
}
