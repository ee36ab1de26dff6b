import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { MarketoError, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import { describeField, describeV1 } from '../model/fields.js';
import { leadFieldsParam, viewLead } from './lead-view.js';
import { batchSize, page, pageOffset } from './paging.js';

const SyncLeadRequest = z.object({
  action: z.enum(['createOnly', 'updateOnly', 'createOrUpdate', 'createDuplicate']).optional(),
  lookupField: z.string().optional(),
  partitionName: z.string().optional(),
  asyncProcessing: z.boolean().optional(),
  input: z.array(z.unknown()),
});

const PushLeadRequest = z.object({
  programName: z.string().min(1),
  lookupField: z.string().optional(),
  partitionName: z.string().optional(),
  programStatus: z.string().optional(),
  reason: z.string().optional(),
  source: z.string().optional(),
  input: z.array(z.unknown()),
});
const PartitionRequest = z.object({ input: z.array(z.object({ id: z.number().int(), partitionName: z.string() })) });

const DeleteLeadRequest = z.object({ input: z.array(z.object({ id: z.number().int() })) });

function deleteLeads(ctx: RequestContext) {
  let ids: number[];
  if (ctx.body !== undefined) ids = parseBody(DeleteLeadRequest, ctx.body).input.map((x) => x.id);
  else ids = ctx.params.intList('id') ?? [];
  checkBatch(ids, ctx.limits.maxBatch);
  return json(success(ctx.requestId, ctx.subscription.deleteLeads(ids)));
}

/** Lead database routes: read, filter, sync, delete, merge, describe, partitions. */
export const leadRoutes: Route[] = [
  {
    method: 'GET', path: '/rest/v1/lead/:leadId.json',
    handler: (ctx) => {
      const id = Number(ctx.pathParams.leadId);
      if (!Number.isInteger(id)) throw new MarketoError('1003', `Invalid lead id '${ctx.pathParams.leadId}'`);
      const fields = leadFieldsParam(ctx.subscription, ctx.params);
      const result = ctx.subscription.leads.exists(id) ? [viewLead(ctx.subscription, id, fields)] : [];
      return json(success(ctx.requestId, result));
    },
  },
  {
    method: 'GET', path: '/rest/v1/leads.json',
    handler: (ctx) => {
      const sub = ctx.subscription;
      const filterType = ctx.params.string('filterType');
      if (!filterType) throw new MarketoError('701', 'filterType cannot be blank');
      const values = ctx.params.list('filterValues');
      if (!values) throw new MarketoError('701', 'filterValues cannot be blank');
      if (!sub.searchableLeadFields().includes(filterType)) throw new MarketoError('1011', `Lookup field '${filterType}' not supported`);
      if (values.length > ctx.limits.maxFilterValues) throw new MarketoError('1003', `Too many filter values, max ${ctx.limits.maxFilterValues} allowed`);
      const fields = leadFieldsParam(sub, ctx.params);
      const size = batchSize(ctx.params, ctx.limits.maxBatch);
      const offset = pageOffset(sub, ctx.params);
      const ids = sub.findLeads(filterType, values);
      if (ids.length > ctx.limits.maxFilterMatches) throw new MarketoError('1003', 'Too many results match the filter');
      const p = page(sub, ids, offset, size);
      return json(success(ctx.requestId, p.items.map((id) => viewLead(sub, id, fields)), { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
    },
  },
  {
    method: 'POST', path: '/rest/v1/leads.json',
    handler: (ctx) => {
      const req = parseBody(SyncLeadRequest, ctx.body);
      checkBatch(req.input, ctx.limits.maxBatch);
      const result = ctx.subscription.upsertLeads(req.input, { action: req.action, lookupField: req.lookupField, partitionName: req.partitionName });
      return json(success(ctx.requestId, result));
    },
  },
  // Legacy delete: POST /rest/v1/leads.json?_method=DELETE with the delete body (recorded real use).
  { method: 'DELETE', path: '/rest/v1/leads.json', handler: deleteLeads },
  { method: 'POST', path: '/rest/v1/leads/delete.json', handler: deleteLeads },
  {
    method: 'POST', path: '/rest/v1/leads/:leadId/merge.json',
    handler: (ctx) => {
      const winner = Number(ctx.pathParams.leadId);
      const losers = [...(ctx.params.intList('leadId') ?? []), ...(ctx.params.intList('leadIds') ?? [])];
      ctx.params.boolean('mergeInCRM');
      if (!losers.length) throw new MarketoError('701', 'leadId cannot be blank');
      ctx.subscription.mergeLeads(winner, losers);
      return json(success(ctx.requestId));
    },
  },
  {
    method: 'GET', path: '/rest/v1/leads/describe.json',
    handler: (ctx) => json(success(ctx.requestId, ctx.subscription.leadFields().map(describeV1))),
  },
  {
    method: 'GET', path: '/rest/v1/leads/describe2.json',
    handler: (ctx) => {
      const sub = ctx.subscription;
      return json(success(ctx.requestId, [{
        name: 'API Lead',
        searchableFields: sub.searchableLeadFields().map((f) => [f]),
        fields: sub.leadFields().map(describeField),
      }]));
    },
  },
  {
    method: 'POST', path: '/rest/v1/leads/push.json',
    handler: (ctx) => {
      const req = parseBody(PushLeadRequest, ctx.body);
      checkBatch(req.input, ctx.limits.maxBatch);
      const result = ctx.subscription.pushLeads(req.input, req);
      return json(success(ctx.requestId, result, {}, []));
    },
  },
  {
    method: 'POST', path: '/rest/v1/leads/partitions.json',
    handler: (ctx) => {
      const req = parseBody(PartitionRequest, ctx.body);
      checkBatch(req.input, ctx.limits.maxBatch);
      return json(success(ctx.requestId, ctx.subscription.changePartitions(req.input)));
    },
  },
  {
    method: 'GET', path: '/rest/v1/leads/partitions.json',
    handler: (ctx) => json(success(ctx.requestId, ctx.subscription.partitions.map((p) => ({ ...p })))),
  },
];
