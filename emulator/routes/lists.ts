import { z } from 'zod';
import { checkBatch, parseBody } from '../http/body.js';
import { isoSeconds, MarketoError, reason, success } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import type { Program, StaticList } from '../subscription.js';
import { leadFieldsParam, viewLead } from './lead-view.js';
import { batchSize, page, pageOffset } from './paging.js';

const IdInput = z.object({ input: z.array(z.object({ id: z.number().int() })) });
const StatusRequest = z.object({ statusName: z.string(), input: z.array(z.object({ leadId: z.number().int() })) });

/** Program member fields (describe and GET members), marketo-api.md §8.3. */
const MEMBER_FIELDS: { name: string; displayName: string; dataType: string }[] = [
  { name: 'leadId', displayName: 'Lead Id', dataType: 'integer' },
  { name: 'programId', displayName: 'Program Id', dataType: 'integer' },
  { name: 'membershipDate', displayName: 'Membership Date', dataType: 'datetime' },
  { name: 'progressionStatus', displayName: 'Status', dataType: 'string' },
  { name: 'progressionStatusType', displayName: 'Status Type', dataType: 'string' },
  { name: 'acquiredBy', displayName: 'Acquired By', dataType: 'boolean' },
  { name: 'reachedSuccess', displayName: 'Success', dataType: 'boolean' },
  { name: 'reachedSuccessDate', displayName: 'Success Date', dataType: 'datetime' },
  { name: 'isExhausted', displayName: 'Is Exhausted', dataType: 'boolean' },
  { name: 'updatedAt', displayName: 'Updated At', dataType: 'datetime' },
];
const MemberInput = z.object({ input: z.array(z.record(z.string(), z.unknown())) });
const DEFAULT_MEMBER_FIELDS = ['acquiredBy', 'leadId', 'membershipDate', 'programId', 'reachedSuccess'];

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

function requireProgram(ctx: RequestContext): Program {
  const program = ctx.subscription.programs.get(Number(ctx.pathParams.programId));
  if (!program) throw new MarketoError('1013', 'Object not found');
  return program;
}

/** A program member write (`{"input":[{"leadId":1}]}`): one answer per item, after its `seq`. */
function eachMember(ctx: RequestContext, answer: (item: Record<string, unknown>, leadId: number, program: Program) => Record<string, unknown>) {
  const req = parseBody(MemberInput, ctx.body);
  checkBatch(req.input, ctx.limits.maxBatch);
  const program = requireProgram(ctx);
  return json(success(ctx.requestId, req.input.map((item, seq) => ({ seq, ...answer(item, Number(item.leadId), program) }))));
}

/** Lead ids from a JSON body `{"input":[{"id":1}]}` or the `id` query parameter. */
function idsFromRequest(ctx: RequestContext, max: number): number[] {
  const ids = ctx.body !== undefined ? parseBody(IdInput, ctx.body).input.map((x) => x.id) : ctx.params.intList('id') ?? [];
  checkBatch(ids, max);
  return ids;
}

function leadsOfList(ctx: RequestContext) {
  const list = requireList(ctx);
  const fields = leadFieldsParam(ctx.subscription, ctx.params);
  const size = batchSize(ctx.params, ctx.limits.maxBatch);
  const p = page(ctx.subscription, [...list.members], pageOffset(ctx.subscription, ctx.params), size);
  return json(success(ctx.requestId, p.items.map((id) => viewLead(ctx.subscription, id, fields)), { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
}

/** Static lists and program membership through the lead database API (marketo-api.md §6.10, §8). */
export const listRoutes: Route[] = [
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
      const p = page(ctx.subscription, all, pageOffset(ctx.subscription, ctx.params), batchSize(ctx.params, ctx.limits.maxBatch));
      return json(success(ctx.requestId, p.items.map(listView), { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
    },
  },
  { method: 'GET', path: '/rest/v1/lists/:listId.json', handler: (ctx) => json(success(ctx.requestId, [listView(requireList(ctx))])) },
  { method: 'GET', path: '/rest/v1/lists/:listId/leads.json', handler: leadsOfList },
  { method: 'GET', path: '/rest/v1/list/:listId/leads.json', handler: leadsOfList },
  {
    method: 'POST', path: '/rest/v1/lists/:listId/leads.json',
    handler: (ctx) => json(success(ctx.requestId, ctx.subscription.addToList(requireList(ctx).id, idsFromRequest(ctx, ctx.limits.maxBatch)))),
  },
  {
    method: 'DELETE', path: '/rest/v1/lists/:listId/leads.json',
    handler: (ctx) => json(success(ctx.requestId, ctx.subscription.removeFromList(requireList(ctx).id, idsFromRequest(ctx, ctx.limits.maxBatch)))),
  },
  {
    method: 'GET', path: '/rest/v1/lists/:listId/leads/ismember.json',
    handler: (ctx) => {
      const list = requireList(ctx);
      const ids = idsFromRequest(ctx, ctx.limits.maxBatch);
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
      const size = batchSize(ctx.params, ctx.limits.maxBatch);
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
    method: 'GET', path: '/rest/v1/programs/:programId/members.json',
    handler: (ctx) => {
      const sub = ctx.subscription;
      const program = sub.programs.get(Number(ctx.pathParams.programId));
      if (!program) throw new MarketoError('1013', 'Object not found');
      const filterType = ctx.params.string('filterType');
      if (!filterType) throw new MarketoError('701', 'filterType cannot be blank');
      const fields = ctx.params.list('fields') ?? DEFAULT_MEMBER_FIELDS;
      for (const f of fields) if (!MEMBER_FIELDS.some((m) => m.name === f) && !sub.leadField(f)) throw new MarketoError('1006', `Field '${f}' not found`);
      let matches: { seq: number; leadId: number }[];
      if (filterType === 'updatedAt') {
        const startAt = Date.parse(ctx.params.string('startAt') ?? '');
        const endAt = Date.parse(ctx.params.string('endAt') ?? '');
        if (Number.isNaN(startAt) || Number.isNaN(endAt)) throw new MarketoError('1003', 'startAt and endAt are required with filterType updatedAt');
        if (endAt - startAt > 7 * 86_400_000) throw new MarketoError('1003', 'Date range for updatedAt must not exceed 7 days');
        matches = [...program.members].filter(([, m]) => m.updatedAt * 1000 >= startAt && m.updatedAt * 1000 <= endAt).map(([leadId]) => ({ seq: 0, leadId }));
      } else {
        const values = ctx.params.list('filterValues');
        if (!values) throw new MarketoError('701', 'filterValues cannot be blank');
        if (!MEMBER_FIELDS.some((m) => m.name === filterType)) throw new MarketoError('1003', `Invalid filterType '${filterType}'`);
        matches = [];
        values.forEach((v, seq) => {
          for (const [leadId, m] of program.members) {
            const have = filterType === 'leadId' ? leadId : (m as unknown as Record<string, unknown>)[filterType];
            if (String(have) === v) matches.push({ seq, leadId });
          }
        });
        if (filterType !== 'leadId' && matches.length > 100_000) throw new MarketoError('1003', `Total membership size: ${matches.length} exceeds the limit allowed 100,000 for the filter`);
      }
      const p = page(sub, matches, pageOffset(sub, ctx.params), batchSize(ctx.params, ctx.limits.maxBatch));
      const result = p.items.map(({ seq, leadId }) => {
        const m = program.members.get(leadId);
        const item: Record<string, unknown> = { seq };
        for (const f of fields) {
          if (f === 'leadId') item.leadId = leadId;
          else if (f === 'programId') item.programId = program.id;
          else if (f === 'membershipDate' || f === 'updatedAt') item[f] = isoSeconds(m?.[f] ?? 0);
          else if (f === 'reachedSuccessDate') item[f] = null;
          else if (MEMBER_FIELDS.some((x) => x.name === f)) item[f] = (m as unknown as Record<string, unknown> | undefined)?.[f] ?? null;
          else item[f] = ctx.subscription.leadValue(leadId, f);
        }
        return item;
      });
      return json(success(ctx.requestId, result, { nextPageToken: p.nextPageToken, moreResult: p.moreResult }));
    },
  },
  ...['/rest/v1/programs/members/describe.json', '/rest/v1/program/members/describe.json'].map((path): Route => ({
    method: 'GET', path,
    handler: (ctx) => json(success(ctx.requestId, [{
      name: 'API Program Membership', description: 'Map for API program membership fields',
      createdAt: '2020-01-01T00:00:00Z', updatedAt: '2020-01-01T00:00:00Z', dedupeFields: ['leadId', 'programId'],
      searchableFields: [['leadId'], ['reachedSuccess'], ['progressionStatus'], ['acquiredBy'], ['isExhausted']],
      fields: MEMBER_FIELDS.map((f) => ({ ...f, updateable: false })),
    }])),
  })),
  {
    method: 'GET', path: '/rest/v1/leads/:leadId/listMembership.json',
    handler: (ctx) => {
      const sub = ctx.subscription;
      const id = Number(ctx.pathParams.leadId);
      if (!sub.leads.exists(id)) throw new MarketoError('1004', 'Lead not found');
      const lists = [...sub.lists.values()].filter((l) => l.members.has(id));
      const p = page(sub, lists, pageOffset(sub, ctx.params), batchSize(ctx.params, ctx.limits.maxBatch));
      const result = p.items.map((l) => ({ listId: l.id, createdAt: isoSeconds(l.memberSince.get(id) ?? l.createdAt), updatedAt: isoSeconds(l.memberSince.get(id) ?? l.updatedAt) }));
      return json(success(ctx.requestId, result, { nextPageToken: p.nextPageToken, moreResult: p.moreResult ?? false }));
    },
  },
  {
    method: 'GET', path: '/rest/v1/leads/:leadId/programMembership.json',
    handler: (ctx) => {
      const sub = ctx.subscription;
      const id = Number(ctx.pathParams.leadId);
      if (!sub.leads.exists(id)) throw new MarketoError('1004', 'Lead not found');
      const filterType = ctx.params.string('filterType');
      if (filterType !== undefined && filterType !== 'programId') throw new MarketoError('1003', `Invalid filterType '${filterType}'`);
      const programIds = filterType ? new Set(ctx.params.intList('filterValues') ?? []) : undefined;
      const earliest = Date.parse(ctx.params.string('earliestUpdatedAt') ?? '');
      const latest = Date.parse(ctx.params.string('latestUpdatedAt') ?? '');
      const rows = [...sub.programs.values()]
        .filter((p) => p.members.has(id) && (!programIds || programIds.has(p.id)))
        .map((p) => ({ p, m: p.members.get(id) as NonNullable<ReturnType<typeof p.members.get>> }))
        .filter(({ m }) => (Number.isNaN(earliest) || m.updatedAt * 1000 >= earliest) && (Number.isNaN(latest) || m.updatedAt * 1000 <= latest));
      const pg = page(sub, rows, pageOffset(sub, ctx.params), batchSize(ctx.params, ctx.limits.maxBatch));
      const result = pg.items.map(({ p, m }) => ({
        id: p.id, progressionStatus: m.progressionStatus, isExhausted: m.isExhausted, acquiredBy: m.acquiredBy, reachedSuccess: m.reachedSuccess,
        membershipDate: isoSeconds(m.membershipDate), updatedAt: isoSeconds(m.updatedAt),
      }));
      return json(success(ctx.requestId, result, { nextPageToken: pg.nextPageToken, moreResult: pg.moreResult ?? false }));
    },
  },
  {
    method: 'POST', path: '/rest/v1/programs/:programId/members.json',
    handler: (ctx) =>
      eachMember(ctx, (item, leadId, program) => {
        const unknown = Object.keys(item).find((k) => k !== 'leadId');
        if (unknown) return { status: 'skipped', reasons: [reason('1006', `Field '${unknown}' not found`)] };
        if (!program.members.has(leadId)) return { status: 'skipped', reasons: [reason('1013', 'Membership not found')] };
        return { status: 'updated', leadId };
      }),
  },
  {
    method: 'POST', path: '/rest/v1/programs/:programId/members/delete.json',
    handler: (ctx) =>
      eachMember(ctx, (_item, leadId, program) => {
        if (!program.members.delete(leadId)) return { status: 'skipped', reasons: [reason('1013', 'Membership not found')] };
        ctx.subscription.noteChange();
        return { status: 'deleted', leadId };
      }),
  },
  {
    method: 'POST', path: '/rest/v1/programs/:programId/members/status.json',
    handler: (ctx) => {
      const req = parseBody(StatusRequest, ctx.body);
      checkBatch(req.input, ctx.limits.maxBatch);
      const program = requireProgram(ctx);
      const programId = program.id;
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
