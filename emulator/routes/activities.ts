import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { isoSeconds, MarketoError, reason, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import type { ActivityFilter, ActivityRecord } from '../model/activity-log.js';
import { ACTIVITY } from '../model/activity-types.js';
import { normalizeValue } from '../model/fields.js';
import { activityToken, parseActivityToken } from './paging.js';

const CustomActivityRequest = z.object({
  input: z.array(z.object({
    leadId: z.number().int(),
    activityDate: z.string(),
    activityTypeId: z.number().int(),
    primaryAttributeValue: z.string(),
    apiName: z.string().optional(),
    status: z.string().optional(),
    attributes: z.array(z.object({ name: z.string().optional(), apiName: z.string().optional(), value: z.unknown() })).default([]),
  }).passthrough()),
});

export function viewActivity(a: ActivityRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: a.id, marketoGUID: a.marketoGUID, leadId: a.leadId, activityDate: isoSeconds(a.date), activityTypeId: a.activityTypeId };
  if (a.campaignId !== undefined) out.campaignId = a.campaignId;
  if (a.primaryAttributeValueId !== undefined) out.primaryAttributeValueId = a.primaryAttributeValueId;
  if (a.primaryAttributeValue !== undefined) out.primaryAttributeValue = a.primaryAttributeValue;
  if (a.attributes.length) out.attributes = a.attributes.map((x) => ({ ...x }));
  return out;
}

/** Lead ids from `leadIds` (≤30) or a static list's members via `listId`. */
function leadFilter(ctx: RequestContext): Set<number> | undefined {
  const leadIds = ctx.params.intList('leadIds');
  if (leadIds) {
    if (leadIds.length > 30) throw new MarketoError('1003', 'Too many lead ids, max 30 allowed');
    return new Set(leadIds);
  }
  const listId = ctx.params.int('listId');
  if (listId !== undefined) {
    const list = ctx.subscription.lists.get(listId);
    if (!list) throw new MarketoError('1013', 'Object not found');
    return new Set(list.members);
  }
  return undefined;
}

function requireToken(ctx: RequestContext): { ms: number; id: number } {
  const token = ctx.params.string('nextPageToken');
  if (!token) throw new MarketoError('701', 'nextPageToken cannot be blank');
  return parseActivityToken(token);
}

/**
 * One page of activities after the token position. The next token points after the last row
 * examined, so a page may be short (even empty) with moreResult true; activities dated after
 * "now" are never returned yet.
 */
function activityPage(ctx: RequestContext, filter: ActivityFilter, size: number, keep: (a: ActivityRecord) => boolean, view: (a: ActivityRecord) => Record<string, unknown>) {
  const after = requireToken(ctx);
  const scan = ctx.subscription.activities.scan(after, filter, size, ctx.limits.activityScanLimit, ctx.now);
  const items = scan.items.filter(keep).map(view);
  const next = scan.last ?? after;
  const body = success(ctx.requestId, items.length ? items : undefined, { nextPageToken: activityToken(next.ms, next.id), moreResult: scan.more });
  return json(body);
}

function pageSize(ctx: RequestContext, max: number): number {
  const n = ctx.params.int('batchSize');
  if (n === undefined) return max;
  if (n < 1 || n > max) throw new MarketoError('1003', `Invalid batchSize '${n}', must be between 1 and ${max}`);
  return n;
}

export const activityRoutes: Route[] = [
  {
    method: 'GET', path: '/rest/v1/activities/types.json',
    handler: (ctx) => json(success(ctx.requestId, ctx.subscription.activityTypes().map((t) => {
      const out: Record<string, unknown> = { id: t.id, name: t.name, description: t.description };
      if (t.apiName) out.apiName = t.apiName;
      if (t.primaryAttribute) out.primaryAttribute = { ...t.primaryAttribute };
      out.attributes = t.attributes.map((a) => ({ ...a }));
      return out;
    }))),
  },
  {
    method: 'GET', path: '/rest/v1/activities/external/types.json',
    handler: (ctx) => json(success(ctx.requestId, [...ctx.subscription.customActivityTypes.values()].filter((t) => t.external).map((t) => ({
      id: t.id, apiName: t.apiName, name: t.name, description: t.description,
      triggerName: t.name, filterName: t.name,
      primaryAttribute: { apiName: t.primaryAttribute?.apiName, name: t.primaryAttribute?.name, dataType: t.primaryAttribute?.dataType, isPrimary: true },
      attributes: t.attributes.map((a) => ({ apiName: a.apiName, name: a.name, dataType: a.dataType, isPrimary: false })),
      createdAt: isoSeconds(t.createdAt ?? 0), updatedAt: isoSeconds(t.createdAt ?? 0), status: 'approved',
    })))),
  },
  {
    method: 'GET', path: '/rest/v1/activities/pagingtoken.json',
    handler: (ctx) => {
      const since = ctx.params.string('sinceDatetime');
      if (!since) throw new MarketoError('701', 'sinceDatetime cannot be blank');
      const ms = Date.parse(since);
      if (Number.isNaN(ms)) throw new MarketoError('1003', `Invalid value '${since}' for parameter 'sinceDatetime'`);
      // Position just before `since`: every activity at or after it follows.
      return json({ requestId: ctx.requestId, success: true, nextPageToken: activityToken(ms, 0) });
    },
  },
  {
    method: 'GET', path: '/rest/v1/activities.json',
    handler: (ctx) => {
      const typeIds = ctx.params.intList('activityTypeIds');
      if (!typeIds) throw new MarketoError('701', 'activityTypeIds cannot be blank');
      if (typeIds.length > 10) throw new MarketoError('1003', 'Too many activity type ids, max 10 allowed');
      const filter: ActivityFilter = { typeIds: new Set(typeIds) };
      const assetIds = ctx.params.intList('assetIds');
      if (assetIds) {
        if (typeIds.length !== 1) throw new MarketoError('1003', 'assetIds requires exactly one activityTypeId');
        filter.primaryAttributeValueIds = new Set(assetIds);
      }
      const leads = leadFilter(ctx);
      if (leads) filter.leadIds = leads;
      return activityPage(ctx, filter, pageSize(ctx, ctx.limits.maxBatch), () => true, viewActivity);
    },
  },
  {
    method: 'GET', path: '/rest/v1/activities/leadchanges.json',
    handler: (ctx) => {
      const fields = ctx.params.list('fields');
      if (!fields) throw new MarketoError('701', 'fields cannot be blank');
      const sub = ctx.subscription;
      const wantedIds = new Set<number>();
      for (const f of fields) {
        const def = sub.leadField(f);
        if (!def) throw new MarketoError('1006', `Field '${f}' not found`);
        if (def.id !== undefined) wantedIds.add(def.id);
      }
      const filter: ActivityFilter = { typeIds: new Set([ACTIVITY.newLead, ACTIVITY.changeDataValue]) };
      const leads = leadFilter(ctx);
      if (leads) filter.leadIds = leads;
      const byId = new Map(sub.leadFields().map((f) => [f.id, f.name]));
      return activityPage(ctx, filter, pageSize(ctx, ctx.limits.maxBatch),
        (a) => a.activityTypeId === ACTIVITY.newLead || wantedIds.has(a.primaryAttributeValueId ?? -1),
        (a) => {
          const out: Record<string, unknown> = { id: a.id, marketoGUID: a.marketoGUID, leadId: a.leadId, activityDate: isoSeconds(a.date), activityTypeId: a.activityTypeId };
          const attr = (n: string): unknown => a.attributes.find((x) => x.name === n)?.value ?? null;
          if (a.activityTypeId === ACTIVITY.changeDataValue) {
            out.fields = [{ id: a.primaryAttributeValueId, name: byId.get(a.primaryAttributeValueId) ?? a.primaryAttributeValue, newValue: attr('New Value'), oldValue: attr('Old Value') }];
            out.attributes = [{ name: 'Reason', value: attr('Reason') }, { name: 'Source', value: attr('Source') }, { name: 'Lead ID', value: a.leadId }];
          } else {
            out.fields = [];
            out.attributes = a.attributes.map((x) => ({ ...x }));
          }
          return out;
        });
    },
  },
  {
    method: 'GET', path: '/rest/v1/activities/deletedleads.json',
    handler: (ctx) => activityPage(ctx, { typeIds: new Set([ACTIVITY.deleteLead]) }, pageSize(ctx, ctx.limits.maxBatch), () => true,
      (a) => ({ ...viewActivity(a), attributes: [] })),
  },
  {
    method: 'POST', path: '/rest/v1/activities/external.json',
    handler: (ctx) => {
      const req = parseBody(CustomActivityRequest, ctx.body);
      checkBatch(req.input, ctx.limits.maxBatch);
      const sub = ctx.subscription;
      const result = req.input.map((item) => {
        const skip = (code: string, message: string) => ({ status: 'skipped', errors: [reason(code, message)] });
        const type = sub.customActivityTypes.get(item.activityTypeId);
        if (!type || !type.apiName) return skip('1013', 'Activity type not found');
        if (!sub.leads.exists(item.leadId)) return skip('1004', 'Lead not found');
        const date = normalizeValue('datetime', item.activityDate);
        if (!date.ok || date.value === null) return skip('1003', "Invalid value for field 'activityDate'");
        const attributes = [];
        for (const a of item.attributes) {
          const def = type.attributes.find((d) => (a.apiName && d.apiName === a.apiName) || (a.name && d.name === a.name));
          if (!def) return skip('1006', `Field '${a.apiName ?? a.name ?? ''}' not found`);
          attributes.push({ name: def.name, apiName: def.apiName, value: a.value });
        }
        const id = sub.addActivity({
          leadId: item.leadId, date: Math.floor(Date.parse(String(date.value)) / 1000), typeId: type.id,
          primaryAttributeValue: item.primaryAttributeValue, attributes,
        });
        return { id, marketoGUID: String(id), status: 'added' };
      });
      return json(success(ctx.requestId, result));
    },
  },
];
