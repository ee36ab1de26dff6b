import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { isoSeconds, MarketoError, reason, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import type { LimitsOptions } from '../options.js';
import type { StaticList } from '../subscription.js';
import { leadFieldsParam, viewLead } from './lead-view.js';
import { batchSize, page, pageOffset } from './paging.js';

const IdInput = z.object({ input: z.array(z.object({ id: z.number().int() })) });
const StatusRequest = z.object({ statusName: z.string(), input: z.array(z.object({ leadId: z.number().int() })) });

function listView(l: StaticList): Record<string, unknown> {
  const out: Record<string, unknown> = { id: l.id, name: l.name, description: l.description };
  if (l.programName !== undefined) out.programName = l.programName;
  out.workspaceName = l.workspaceName;
  out.createdAt = isoSeconds(l.createdAt);
  out.updatedAt = isoSeconds(l.updatedAt);
  return out;
}

function requireList(ctx: RequestContext): StaticList {
  const list = ctx.subscription.lists.get(Number(ctx.pathParams.listId));
  if (!list) throw new MarketoError('1013', 'Object not found');
  return list;
}

/** Lead ids from a JSON body `{"input":[{"id":1}]}` or the `id` query parameter. */
function idsFromRequest(ctx: RequestContext, max: number): number[] {
  const ids = ctx.body !== undefined ? parseBody(IdInput, ctx.body).input.map((x) => x.id) : ctx.params.intList('id') ?? [];
  checkBatch(ids, max);
  return ids;
}

/** Static lists and program membership through the lead database API (marketo-api.md §6.10, §8). */
export function listRoutes(limits: LimitsOptions): Route[] {
  const leadsOfList = (ctx: RequestContext) => {
    const list = requireList(ctx);
    const fields = leadFieldsParam(ctx.subscription, ctx.params);
    const size = batchSize(ctx.params, limits.maxBatch);
    const p = page(ctx.subscription, [...list.members], pageOffset(ctx.subscription, ctx.params), size);
    return json(success(ctx.requestId, p.items.map((id) => viewLead(ctx.subscription, id, fields)), { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
  };
  return [
    {
      method: 'GET', path: '/rest/v1/lists.json',
      handler: (ctx) => {
        const ids = ctx.params.intList('id');
        const names = ctx.params.list('name');
        const programNames = ctx.params.list('programName');
        const workspaces = ctx.params.list('workspaceName');
        const all = [...ctx.subscription.lists.values()].filter((l) =>
          (!ids || ids.includes(l.id)) && (!names || names.includes(l.name)) &&
          (!programNames || (l.programName !== undefined && programNames.includes(l.programName))) && (!workspaces || workspaces.includes(l.workspaceName)));
        const p = page(ctx.subscription, all, pageOffset(ctx.subscription, ctx.params), batchSize(ctx.params, limits.maxBatch));
        return json(success(ctx.requestId, p.items.map(listView), { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
      },
    },
    { method: 'GET', path: '/rest/v1/lists/:listId.json', handler: (ctx) => json(success(ctx.requestId, [listView(requireList(ctx))])) },
    { method: 'GET', path: '/rest/v1/lists/:listId/leads.json', handler: leadsOfList },
    { method: 'GET', path: '/rest/v1/list/:listId/leads.json', handler: leadsOfList },
    {
      method: 'POST', path: '/rest/v1/lists/:listId/leads.json',
      handler: (ctx) => json(success(ctx.requestId, ctx.subscription.addToList(requireList(ctx).id, idsFromRequest(ctx, limits.maxBatch)))),
    },
    {
      method: 'DELETE', path: '/rest/v1/lists/:listId/leads.json',
      handler: (ctx) => json(success(ctx.requestId, ctx.subscription.removeFromList(requireList(ctx).id, idsFromRequest(ctx, limits.maxBatch)))),
    },
    {
      method: 'GET', path: '/rest/v1/lists/:listId/leads/ismember.json',
      handler: (ctx) => {
        const list = requireList(ctx);
        const ids = idsFromRequest(ctx, limits.maxBatch);
        return json(success(ctx.requestId, ids.map((id) => {
          if (!ctx.subscription.leads.exists(id)) return { id, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
          return { id, status: list.members.has(id) ? 'memberof' : 'notmemberof' };
        })));
      },
    },
    {
      method: 'GET', path: '/rest/v1/leads/programs/:programId.json',
      handler: (ctx) => {
        const program = ctx.subscription.programs.get(Number(ctx.pathParams.programId));
        if (!program) throw new MarketoError('1013', 'Object not found');
        const fields = leadFieldsParam(ctx.subscription, ctx.params);
        const size = batchSize(ctx.params, limits.maxBatch);
        const p = page(ctx.subscription, [...program.members.keys()], pageOffset(ctx.subscription, ctx.params), size);
        const result = p.items.map((id) => {
          const m = program.members.get(id);
          const membership: Record<string, unknown> = {
            progressionStatus: m?.progressionStatus, acquiredBy: m?.acquiredBy ?? false, reachedSuccess: m?.reachedSuccess ?? false,
            membershipDate: isoSeconds(m?.membershipDate ?? 0), updatedAt: isoSeconds(m?.updatedAt ?? 0),
            progressionStatusType: m?.progressionStatusType,
          };
          if (program.type === 'Engagement') {
            membership.isExhausted = m?.isExhausted ?? false;
            membership.nurtureCadence = 'normal';
            membership.stream = 'Default';
          }
          return { ...viewLead(ctx.subscription, id, fields), membership };
        });
        return json(success(ctx.requestId, result, { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
      },
    },
    {
      method: 'POST', path: '/rest/v1/programs/:programId/members/status.json',
      handler: (ctx) => {
        const req = parseBody(StatusRequest, ctx.body);
        checkBatch(req.input, limits.maxBatch);
        const programId = Number(ctx.pathParams.programId);
        const program = ctx.subscription.programs.get(programId);
        if (!program) throw new MarketoError('1013', 'Object not found');
        if (!program.statuses.includes(req.statusName)) throw new MarketoError('1025', 'Program status not found');
        return json(success(ctx.requestId, req.input.map(({ leadId }, seq) => {
          if (!ctx.subscription.leads.exists(leadId)) return { seq, status: 'skipped', reasons: [reason('1004', 'Lead not found')] };
          const status = ctx.subscription.setProgramStatus(programId, leadId, req.statusName);
          if (status === 'skipped') return { seq, status, reasons: [reason('1037', 'Lead skipped because it is already in or past this status')] };
          return { seq, status, leadId };
        })));
      },
    },
  ];
}
