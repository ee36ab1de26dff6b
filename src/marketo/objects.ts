import { z } from 'zod';
import { anyRecordSchema, recordResultSchema } from './envelope.js';
import { objectMetadataSchema, type ObjectMetadata } from './describe-schemas.js';
import { MarketoApiError } from './errors.js';
import { classify } from './classification.js';
import { paginateByToken, toPage, type Page } from './paging.js';
import { batchInput, parseInput, toOutcomes, type RecordOutcome } from './results.js';
import type { MarketoTransport } from './transport.js';

/** Where one object type lives; every type follows the same query/sync/delete/describe pattern (§7). */
export interface ObjectKind {
  label: string;
  basePath: string;
}

export const OBJECT_KINDS = {
  company: { label: 'company', basePath: '/rest/v1/companies' },
  opportunity: { label: 'opportunity', basePath: '/rest/v1/opportunities' },
  opportunityRole: { label: 'opportunityRole', basePath: '/rest/v1/opportunities/roles' },
  salesPerson: { label: 'salesPerson', basePath: '/rest/v1/salespersons' },
} as const satisfies Record<string, ObjectKind>;

export function customObjectKind(apiName: string): ObjectKind {
  const name = parseInput(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'custom object API names are letters, digits and _'), apiName, 'custom object name');
  return { label: `customObject:${name}`, basePath: `/rest/v1/customobjects/${name}` };
}

/** Query results carry `seq` plus arbitrary fields. */
export const objectRecordSchema = z.looseObject({ seq: z.number().int().nonnegative() });
export type MarketoObject = z.output<typeof objectRecordSchema>;

const fieldsSchema = z.array(z.string().min(1)).min(1).optional();
const batchSizeSchema = z.number().int().min(1).max(300).optional();

const querySchema = z
  .object({
    /** A searchable field, or the aliases `idField` / `dedupeFields`. */
    filterType: z.string().min(1),
    filterValues: z.array(z.union([z.string().min(1), z.number()])).min(1, 'filterValues is empty').max(300, 'at most 300 filterValues per call'),
    fields: fieldsSchema,
    batchSize: batchSizeSchema,
    nextPageToken: z.string().min(1).optional(),
  })
  .strict();
export type ObjectQuery = z.input<typeof querySchema>;

const keyQuerySchema = z
  .object({
    filterType: z.string().min(1).default('dedupeFields'),
    /** One object per key, e.g. `{externalOpportunityId, leadId, role}` for roles. */
    input: batchInput(anyRecordSchema),
    fields: fieldsSchema,
    batchSize: batchSizeSchema,
    nextPageToken: z.string().min(1).optional(),
  })
  .strict();
export type ObjectKeyQuery = z.input<typeof keyQuerySchema>;

const syncSchema = z
  .object({
    action: z.enum(['createOnly', 'updateOnly', 'createOrUpdate']).default('createOrUpdate'),
    dedupeBy: z.enum(['dedupeFields', 'idField']).default('dedupeFields'),
    input: batchInput(anyRecordSchema),
  })
  .strict()
  .refine((r) => r.dedupeBy !== 'idField' || r.action === 'updateOnly', {
    path: ['dedupeBy'],
    message: "dedupeBy 'idField' is only valid with action 'updateOnly'",
  });
export type ObjectSyncRequest = z.input<typeof syncSchema>;

const deleteSchema = z
  .object({
    deleteBy: z.enum(['dedupeFields', 'idField']).default('dedupeFields'),
    input: batchInput(anyRecordSchema),
  })
  .strict();
export type ObjectDeleteRequest = z.input<typeof deleteSchema>;

export class ObjectApi {
  constructor(
    private readonly t: MarketoTransport,
    readonly kind: ObjectKind,
  ) {}

  async describe(): Promise<ObjectMetadata> {
    const endpoint = `GET ${this.kind.basePath}/describe.json`;
    const env = await this.t.request({ method: 'GET', path: `${this.kind.basePath}/describe.json` }, objectMetadataSchema);
    const first = env.result?.[0];
    if (!first) {
      throw new MarketoApiError({ code: 'INVALID_RESPONSE', message: 'describe returned no result', endpoint, source: 'response', requestId: env.requestId, classification: classify('INVALID_RESPONSE') });
    }
    return first;
  }

  /** Records whose `filterType` field is one of `filterValues` (long lists are tunnelled automatically). */
  async get(query: ObjectQuery): Promise<Page<MarketoObject>> {
    const q = parseInput(querySchema, query, `${this.kind.label} query`);
    return toPage(await this.t.request({ method: 'GET', path: `${this.kind.basePath}.json`, query: { ...q } }, objectRecordSchema));
  }

  iterate(query: Omit<ObjectQuery, 'nextPageToken'>): AsyncGenerator<Page<MarketoObject>> {
    return paginateByToken((nextPageToken) => this.get({ ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }

  /**
   * Query by compound keys: `POST …json?_method=GET` with a JSON body (§7.2). When paging, Marketo wants the
   * original inputs again with the token, which the iterator does.
   */
  async getByKeys(query: ObjectKeyQuery): Promise<Page<MarketoObject>> {
    const q = parseInput(keyQuerySchema, query, `${this.kind.label} key query`);
    return toPage(
      await this.t.request(
        { method: 'POST', path: `${this.kind.basePath}.json`, query: { _method: 'GET' }, body: { kind: 'json', value: q }, endpoint: `POST ${this.kind.basePath}.json?_method=GET` },
        objectRecordSchema,
      ),
    );
  }

  iterateByKeys(query: Omit<ObjectKeyQuery, 'nextPageToken'>): AsyncGenerator<Page<MarketoObject>> {
    return paginateByToken((nextPageToken) => this.getByKeys({ ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }

  /** Create/update up to 300 records; one outcome per input record, in input order. */
  async sync(request: ObjectSyncRequest): Promise<RecordOutcome[]> {
    const body = parseInput(syncSchema, request, `${this.kind.label} sync request`);
    const env = await this.t.request({ method: 'POST', path: `${this.kind.basePath}.json`, body: { kind: 'json', value: body } }, recordResultSchema);
    return toOutcomes(env, body.input.length, `POST ${this.kind.basePath}.json`);
  }

  async delete(request: ObjectDeleteRequest): Promise<RecordOutcome[]> {
    const body = parseInput(deleteSchema, request, `${this.kind.label} delete request`);
    const env = await this.t.request({ method: 'POST', path: `${this.kind.basePath}/delete.json`, body: { kind: 'json', value: body } }, recordResultSchema);
    return toOutcomes(env, body.input.length, `POST ${this.kind.basePath}/delete.json`);
  }
}
