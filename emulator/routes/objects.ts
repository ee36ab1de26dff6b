import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { isoSeconds, MarketoError, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import { describeField } from '../model/fields.js';
import type { ObjectType } from '../model/object-types.js';
import type { ObjectRecord } from '../subscription.js';
import { batchSize, page, tokenOffset } from './paging.js';

const SyncRequest = z.object({
  action: z.enum(['createOnly', 'updateOnly', 'createOrUpdate']).optional(),
  dedupeBy: z.enum(['dedupeFields', 'idField']).optional(),
  input: z.array(z.unknown()),
});
const DeleteRequest = z.object({ deleteBy: z.enum(['dedupeFields', 'idField']).optional(), input: z.array(z.unknown()) });
/** Compound-key query sent as `POST ...?_method=GET` with a JSON body (marketo-api.md §7.2). */
const LookupRequest = z.object({
  filterType: z.string(),
  fields: z.array(z.string()).optional(),
  input: z.array(z.record(z.string(), z.unknown())),
  batchSize: z.number().int().optional(),
  nextPageToken: z.string().optional(),
});

function requireType(ctx: RequestContext, name: string): ObjectType {
  const t = ctx.subscription.objectType(name);
  if (!t || (t.kind === 'custom') !== (name !== 'Company' && name !== 'opportunity' && name !== 'opportunityRole' && name !== 'SalesPerson')) {
    throw new MarketoError('1013', 'Object not found');
  }
  return t;
}

/** ObjectMetaData: the describe item for companies, opportunities, roles, salespersons, custom objects. */
export function describeObject(t: ObjectType, withFields = true): Record<string, unknown> {
  const item: Record<string, unknown> = {
    name: t.name, displayName: t.displayName, description: t.description,
    createdAt: isoSeconds(t.createdAt), updatedAt: isoSeconds(t.updatedAt),
    idField: t.idField, dedupeFields: t.dedupeFields, searchableFields: t.searchableFields,
  };
  if (withFields) item.fields = t.fields.filter((f) => !f.hidden).map(describeField);
  if (t.kind === 'custom') item.relationships = t.relationships;
  return item;
}

function queryObjects(ctx: RequestContext, type: ObjectType): ReturnType<typeof json> {
  const limits = ctx.limits;
  const sub = ctx.subscription;
  let filterType: string | undefined;
  let requestedFields: string[] | undefined;
  let size: number;
  let offset: number;
  let matches: { seq: number; rec: ObjectRecord }[];
  const visible = new Set(type.fields.filter((f) => !f.hidden).map((f) => f.name));
  const resolveFilter = (ft: string): string[] => {
    if (ft === 'idField') return [type.idField];
    if (ft === 'dedupeFields') return type.dedupeFields;
    const entry = type.searchableFields.find((s) => s.length === 1 && s[0] === ft);
    if (!entry) throw new MarketoError('1003', `Invalid filterType '${ft}'`);
    return entry;
  };
  if (ctx.body !== undefined) {
    const req = parseBody(LookupRequest, ctx.body);
    filterType = req.filterType;
    requestedFields = req.fields;
    const keyFields = resolveFilter(filterType);
    checkBatch(req.input, limits.maxFilterValues);
    size = req.batchSize ?? limits.maxBatch;
    if (size < 1 || size > limits.maxBatch) throw new MarketoError('1003', `Invalid batchSize '${size}'`);
    offset = tokenOffset(sub, req.nextPageToken);
    matches = [];
    req.input.forEach((item, seq) => {
      if (keyFields.length === 1) {
        const v = item[keyFields[0] as string];
        if (v !== undefined && v !== null) for (const m of sub.findObjects(type.name, keyFields[0] as string, [v as string])) matches.push({ seq, rec: m.rec });
      } else {
        for (const k of keyFields) if (item[k] === undefined) throw new MarketoError('1003', `Value for required field '${k}' not specified`);
        const rec = sub.findObjectByKey(type.name, 'dedupeFields', item);
        if (rec) matches.push({ seq, rec });
      }
    });
  } else {
    filterType = ctx.params.string('filterType');
    if (!filterType) throw new MarketoError('701', 'filterType cannot be blank');
    const values = ctx.params.list('filterValues');
    if (!values) throw new MarketoError('701', 'filterValues cannot be blank');
    if (values.length > limits.maxFilterValues) throw new MarketoError('1003', `Too many filter values, max ${limits.maxFilterValues} allowed`);
    const keyFields = resolveFilter(filterType);
    if (keyFields.length !== 1) throw new MarketoError('1003', `Compound key '${filterType}' requires a JSON input query`);
    requestedFields = ctx.params.list('fields');
    size = batchSize(ctx.params, limits.maxBatch);
    offset = tokenOffset(sub, ctx.params.string('nextPageToken'));
    matches = sub.findObjects(type.name, keyFields[0] as string, values);
  }
  for (const f of requestedFields ?? []) if (!visible.has(f)) throw new MarketoError('1006', `Field '${f}' not found`);
  const p = page(sub, matches, offset, size);
  const result = p.items.map(({ seq, rec }) => {
    const view = sub.objectView(type, rec);
    const fields = requestedFields ?? (type.kind === 'salesperson'
      ? [type.idField, ...Object.keys(rec.values), 'createdAt', 'updatedAt']
      : [type.idField, ...type.dedupeFields, 'updatedAt', 'createdAt']);
    // The key field comes back whatever `fields` asks for, as `id` does for leads.
    const item: Record<string, unknown> = { seq, [type.idField]: view[type.idField] ?? null };
    for (const f of fields) item[f] = view[f] ?? null;
    return item;
  });
  return json(success(ctx.requestId, result, { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
}

function familyRoutes(base: string, typeOf: (ctx: RequestContext) => string): Route[] {
  return [
    { method: 'GET', path: `${base}.json`, handler: (ctx) => queryObjects(ctx, requireType(ctx, typeOf(ctx))) },
    {
      method: 'POST', path: `${base}.json`,
      handler: (ctx) => {
        const type = requireType(ctx, typeOf(ctx));
        const req = parseBody(SyncRequest, ctx.body);
        checkBatch(req.input, ctx.limits.maxBatch);
        return json(success(ctx.requestId, ctx.subscription.syncObjects(type.name, req.input, { action: req.action, dedupeBy: req.dedupeBy })));
      },
    },
    {
      method: 'POST', path: `${base}/delete.json`,
      handler: (ctx) => {
        const type = requireType(ctx, typeOf(ctx));
        const req = parseBody(DeleteRequest, ctx.body);
        checkBatch(req.input, ctx.limits.maxBatch);
        return json(success(ctx.requestId, ctx.subscription.deleteObjects(type.name, req.input, req.deleteBy)));
      },
    },
    { method: 'GET', path: `${base}/describe.json`, handler: (ctx) => json(success(ctx.requestId, [describeObject(requireType(ctx, typeOf(ctx)))])) },
  ];
}

/** Companies, opportunities, opportunity roles, salespersons and custom objects (marketo-api.md §7). */
export const objectRoutes: Route[] = [
  // Roles first: `/rest/v1/opportunities/roles.json` must not be taken for something else.
  ...familyRoutes('/rest/v1/opportunities/roles', () => 'opportunityRole'),
  ...familyRoutes('/rest/v1/opportunities', () => 'opportunity'),
  ...familyRoutes('/rest/v1/companies', () => 'Company'),
  ...familyRoutes('/rest/v1/salespersons', () => 'SalesPerson'),
  {
    method: 'GET', path: '/rest/v1/customobjects.json',
    handler: (ctx) => {
      const names = ctx.params.list('names');
      const types = ctx.subscription.customObjectTypes().filter((t) => !names || names.includes(t.name));
      return json(success(ctx.requestId, types.map((t) => describeObject(t, false))));
    },
  },
  ...familyRoutes('/rest/v1/customobjects/:customObjectName', (ctx) => ctx.pathParams.customObjectName ?? ''),
];
