import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { MarketoError, reason, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import type { FieldDef } from '../model/fields.js';
import { batchSize, page, pageOffset } from './paging.js';

/**
 * Field schema API (marketo-api.md §5.5): richer per-field metadata for leads, companies and
 * opportunities, and creating/updating custom lead fields — describe reflects changes at once.
 */
const CreateFieldRequest = z.object({
  input: z.array(z.object({
    displayName: z.string().min(1),
    name: z.string(),
    description: z.string().optional(),
    dataType: z.enum(['boolean', 'currency', 'date', 'datetime', 'email', 'float', 'integer', 'percent', 'phone', 'score', 'string', 'url']),
    isHidden: z.boolean().optional(),
    isHtmlEncodingInEmail: z.boolean().optional(),
    isSensitive: z.boolean().optional(),
  })),
});
const UpdateFieldRequest = z.object({
  input: z.object({
    displayName: z.string().min(1).optional(),
    description: z.string().optional(),
    isHidden: z.boolean().optional(),
    isHtmlEncodingInEmail: z.boolean().optional(),
    isSensitive: z.boolean().optional(),
  }),
});

function fieldView(f: FieldDef): Record<string, unknown> {
  const out: Record<string, unknown> = { displayName: f.displayName, name: f.name, description: f.description ?? null, dataType: f.dataType };
  if (f.length !== undefined) out.length = f.length;
  out.isHidden = f.hidden;
  out.isHtmlEncodingInEmail = true;
  out.isSensitive = f.dataType === 'email';
  out.isCustom = f.custom;
  out.isApiCreated = f.custom;
  return out;
}

function listFields(ctx: RequestContext, fields: FieldDef[]) {
  const p = page(ctx.subscription, fields, pageOffset(ctx.subscription, ctx.params), batchSize(ctx.params, ctx.limits.maxBatch));
  return json(success(ctx.requestId, p.items.map(fieldView), { nextPageToken: p.nextPageToken, moreResult: p.moreResult ?? false }));
}

function objectFields(ctx: RequestContext, typeName: string): FieldDef[] {
  const type = ctx.subscription.objectType(typeName);
  if (!type) throw new MarketoError('1013', 'Object not found');
  return type.fields;
}

export const schemaFieldRoutes: Route[] = [
  { method: 'GET', path: '/rest/v1/leads/schema/fields.json', handler: (ctx) => listFields(ctx, ctx.subscription.allLeadFields()) },
  {
    method: 'GET', path: '/rest/v1/leads/schema/fields/:fieldApiName.json',
    handler: (ctx) => {
      const f = ctx.subscription.allLeadFields().find((x) => x.name === ctx.pathParams.fieldApiName);
      if (!f) throw new MarketoError('1013', `Field '${ctx.pathParams.fieldApiName ?? ''}' not found`);
      return json(success(ctx.requestId, [fieldView(f)]));
    },
  },
  {
    method: 'POST', path: '/rest/v1/leads/schema/fields.json',
    handler: (ctx) => {
      const req = parseBody(CreateFieldRequest, ctx.body);
      checkBatch(req.input, 100);
      const sub = ctx.subscription;
      return json(success(ctx.requestId, req.input.map((f) => {
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(f.name)) return { name: f.name, status: 'skipped', reasons: [reason('1003', `Invalid value for field 'name'`)] };
        if (sub.allLeadFields().some((x) => x.name === f.name || x.displayName === f.displayName)) {
          return { name: f.name, status: 'skipped', reasons: [reason('1017', 'Object already exists')] };
        }
        sub.addLeadField({ name: f.name, displayName: f.displayName, dataType: f.dataType, description: f.description, hidden: f.isHidden ?? false });
        return { name: f.name, status: 'created' };
      })));
    },
  },
  {
    method: 'POST', path: '/rest/v1/leads/schema/fields/:fieldApiName.json',
    handler: (ctx) => {
      const req = parseBody(UpdateFieldRequest, ctx.body);
      const f = ctx.subscription.updateLeadField(ctx.pathParams.fieldApiName ?? '', req.input);
      return json(success(ctx.requestId, [{ name: f.name, status: 'updated' }]));
    },
  },
  { method: 'GET', path: '/rest/v1/companies/schema/fields.json', handler: (ctx) => listFields(ctx, objectFields(ctx, 'Company')) },
  { method: 'GET', path: '/rest/v1/opportunities/schema/fields.json', handler: (ctx) => listFields(ctx, objectFields(ctx, 'opportunity')) },
  {
    method: 'GET', path: '/rest/v1/companies/schema/fields/:fieldApiName.json',
    handler: (ctx) => {
      const f = objectFields(ctx, 'Company').find((x) => x.name === ctx.pathParams.fieldApiName);
      if (!f) throw new MarketoError('1013', `Field '${ctx.pathParams.fieldApiName ?? ''}' not found`);
      return json(success(ctx.requestId, [fieldView(f)]));
    },
  },
  {
    method: 'GET', path: '/rest/v1/opportunities/schema/fields/:fieldApiName.json',
    handler: (ctx) => {
      const f = objectFields(ctx, 'opportunity').find((x) => x.name === ctx.pathParams.fieldApiName);
      if (!f) throw new MarketoError('1013', `Field '${ctx.pathParams.fieldApiName ?? ''}' not found`);
      return json(success(ctx.requestId, [fieldView(f)]));
    },
  },
];
