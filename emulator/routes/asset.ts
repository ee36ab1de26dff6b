import { assetSuccess, assetTimestamp, MarketoError } from '../http/envelope.js';
import { json, type RequestContext, type Route } from '../http/route.js';
import type { Program, StaticList } from '../subscription.js';

/** Asset API subset: programs and static lists (marketo-api.md §8.2), asset envelope. */
function programView(p: Program): Record<string, unknown> {
  return {
    id: p.id, name: p.name, description: p.description, createdAt: assetTimestamp(p.createdAt), updatedAt: assetTimestamp(p.updatedAt),
    url: `https://app-emulator.marketo.com/#PG${p.id}A1`, type: p.type, channel: p.channel,
    folder: { type: 'Folder', value: p.folderId, folderName: p.folderName }, status: p.status, workspace: p.workspace, headStart: false,
  };
}

function staticListView(l: StaticList): Record<string, unknown> {
  return {
    id: l.id, name: l.name, description: l.description, createdAt: assetTimestamp(l.createdAt), updatedAt: assetTimestamp(l.updatedAt),
    folder: { id: l.folderId, type: 'Folder' }, computedUrl: `https://app-emulator.marketo.com/#ST${l.id}A1`, workspace: l.workspaceName,
  };
}

function parseDate(ctx: RequestContext, name: string): number | undefined {
  const v = ctx.params.string(name);
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new MarketoError('704', 'Invalid date format');
  return Math.floor(ms / 1000);
}

function window<T extends { updatedAt: number }>(ctx: RequestContext, items: T[]): T[] {
  const limits = ctx.limits;
  const earliest = parseDate(ctx, 'earliestUpdatedAt');
  const latest = parseDate(ctx, 'latestUpdatedAt');
  const offset = ctx.params.int('offset') ?? 0;
  const maxReturn = ctx.params.int('maxReturn') ?? 20;
  if (maxReturn < 1 || maxReturn > limits.assetMaxReturn) throw new MarketoError('1003', `maxReturn must be between 1 and ${limits.assetMaxReturn}`);
  if (offset < 0) throw new MarketoError('1003', 'offset must not be negative');
  return items
    .filter((x) => (earliest === undefined || x.updatedAt >= earliest) && (latest === undefined || x.updatedAt <= latest))
    .slice(offset, offset + maxReturn);
}

function programById(ctx: RequestContext) {
  const p = ctx.subscription.programs.get(Number(ctx.pathParams.id));
  return json(assetSuccess(ctx.requestId, p ? [{ ...programView(p), tags: [], costs: [] }] : []));
}

/** Asset API routes served (programs and static lists). */
export const assetRoutes: Route[] = [
  {
    method: 'GET', path: '/rest/asset/v1/programs.json', asset: true,
    handler: (ctx) => {
      let programs = [...ctx.subscription.programs.values()];
      const filterType = ctx.params.string('filterType');
      if (filterType) {
        const values = ctx.params.list('filterValues') ?? [];
        const pick: Record<string, (p: Program) => string> = {
          id: (p) => String(p.id), programId: (p) => String(p.id), folderId: (p) => String(p.folderId), workspace: (p) => p.workspace,
        };
        const get = pick[filterType];
        if (!get) throw new MarketoError('1003', `Invalid filterType '${filterType}'`);
        programs = programs.filter((p) => values.includes(get(p)));
      }
      return json(assetSuccess(ctx.requestId, window(ctx, programs).map(programView)));
    },
  },
  { method: 'GET', path: '/rest/asset/v1/program/byName.json', asset: true, handler: (ctx) => {
    const name = ctx.params.string('name');
    if (!name) throw new MarketoError('701', 'name cannot be blank');
    const p = [...ctx.subscription.programs.values()].find((x) => x.name === name);
    return json(assetSuccess(ctx.requestId, p ? [{ ...programView(p), tags: [], costs: [] }] : []));
  } },
  { method: 'GET', path: '/rest/asset/v1/program/:id.json', asset: true, handler: programById },
  {
    method: 'GET', path: '/rest/asset/v1/staticLists.json', asset: true,
    handler: (ctx) => {
      let lists = [...ctx.subscription.lists.values()];
      const folder = ctx.params.string('folder');
      if (folder) {
        let parsed: { id?: unknown };
        try {
          parsed = JSON.parse(folder) as { id?: unknown };
        } catch {
          throw new MarketoError('1003', "Invalid value for parameter 'folder'");
        }
        lists = lists.filter((l) => l.folderId === Number(parsed.id));
      }
      return json(assetSuccess(ctx.requestId, window(ctx, lists).map(staticListView)));
    },
  },
  { method: 'GET', path: '/rest/asset/v1/staticList/byName.json', asset: true, handler: (ctx) => {
    const name = ctx.params.string('name');
    if (!name) throw new MarketoError('701', 'name cannot be blank');
    const l = [...ctx.subscription.lists.values()].find((x) => x.name === name);
    return json(assetSuccess(ctx.requestId, l ? [staticListView(l)] : []));
  } },
  { method: 'GET', path: '/rest/asset/v1/staticList/:id.json', asset: true, handler: (ctx) => {
    const l = ctx.subscription.lists.get(Number(ctx.pathParams.id));
    return json(assetSuccess(ctx.requestId, l ? [staticListView(l)] : []));
  } },
  {
    method: 'POST', path: '/rest/asset/v1/staticLists.json', asset: true, body: 'form',
    handler: (ctx) => {
      const name = ctx.params.string('name');
      if (!name) throw new MarketoError('701', 'name cannot be blank');
      const folderText = ctx.params.string('folder');
      if (!folderText) throw new MarketoError('701', 'folder cannot be blank');
      let folderId: number;
      try {
        folderId = Number((JSON.parse(folderText) as { id?: unknown }).id);
      } catch {
        throw new MarketoError('1003', "Invalid value for parameter 'folder'");
      }
      if (!Number.isInteger(folderId)) throw new MarketoError('710', 'Parent Folder Not Found');
      const list = ctx.subscription.createList({ name, description: ctx.params.string('description'), folderId });
      return json(assetSuccess(ctx.requestId, [staticListView(list)]));
    },
  },
  {
    method: 'POST', path: '/rest/asset/v1/staticList/:id/delete.json', asset: true, body: 'form',
    handler: (ctx) => {
      const id = Number(ctx.pathParams.id);
      if (!ctx.subscription.lists.delete(id)) throw new MarketoError('702', `${id} Static List not found or invalid`);
      ctx.subscription.noteChange();
      return json(assetSuccess(ctx.requestId, [{ id }]));
    },
  },
];
