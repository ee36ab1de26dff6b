import { z } from 'zod';
import { FieldDef } from '../model/fields.js';
import { CustomObjectTypeInput } from '../model/object-types.js';
import type { AdminRoute, Runtime } from '../http/server.js';
import { FaultRule } from '../faults.js';
import { bulkService } from '../bulk/service.js';
import { seedSubscription, SeedOptions } from '../seed.js';
import { NewLeadFieldInput } from '../subscription.js';

/**
 * Test/benchmark controls under `/_emulator/` (not Marketo paths; no auth, no limits). Each one
 * mirrors a method on `subscription` (or the runtime) so in-process tests need no HTTP.
 */
const ObjectFieldBody = z.object({ object: z.string(), field: z.record(z.string(), z.unknown()) });
const HideBody = z.object({ object: z.string().default('lead'), name: z.string() });
const ClockBody = z.union([z.object({ advanceMs: z.number().int() }), z.object({ set: z.string().datetime({ offset: true }) })]);
const EditLeadBody = z.object({ id: z.number().int(), changes: z.record(z.string(), z.unknown()) });
const MergeBody = z.object({ winnerId: z.number().int(), loserIds: z.array(z.number().int()).min(1) });
const DeleteBody = z.object({ ids: z.array(z.number().int()).min(1) });
const ListBody = z.object({ name: z.string().min(1), description: z.string().optional(), programName: z.string().optional() });
const ProgramBody = z.object({ name: z.string().min(1), type: z.enum(['Default', 'Event', 'Engagement', 'Email', 'Event with Webinar']).optional(), statuses: z.array(z.string()).optional() });
const ListMembersBody = z.object({ listId: z.number().int(), leadIds: z.array(z.number().int()).min(1) });
const ProgramStatusBody = z.object({ programId: z.number().int(), leadId: z.number().int(), status: z.string() });
const FaultSeedBody = z.object({ seed: z.number().int() });
const HostileFieldsBody = z.object({ names: z.array(z.string().min(1)).min(1) });
const BulkFaultsBody = z
  .object({
    breakDownloadAfterBytes: z.number().int().nonnegative(),
    breakDownloads: z.number().int().nonnegative(),
    queueFull: z.number().int().nonnegative(),
    corruptDownloads: z.number().int().nonnegative(),
    malformedRows: z.number().int().nonnegative(),
    invalidUtf8Rows: z.number().int().nonnegative(),
    invalidUtf8RowsPerFile: z.number().int().positive(),
    invalidUtf8Kind: z.enum(['leads', 'activities', 'programMembers', 'customObjects']),
    failExports: z.number().int().nonnegative(),
    failImports: z.number().int().nonnegative(),
  })
  .partial()
  .strict();
const ActivityTypeBody = z.object({
  apiName: z.string(), name: z.string(), description: z.string().optional(),
  primaryAttribute: z.object({ apiName: z.string(), name: z.string(), dataType: z.string().optional() }),
  attributes: z.array(z.object({ apiName: z.string(), name: z.string(), dataType: z.string().optional() })).optional(),
});

export const adminRoutes: AdminRoute[] = [
  { method: 'GET', path: '/_emulator/calls', handler: (rt) => ({ ...rt.stats.snapshot(), limiter: rt.limiter.snapshot() }) },
  { method: 'POST', path: '/_emulator/calls/reset', handler: (rt) => { rt.stats.reset(); return { ok: true }; } },
  { method: 'GET', path: '/_emulator/state', handler: (rt) => summary(rt) },

  {
    method: 'POST', path: '/_emulator/schema/fields',
    handler: (rt, body) => {
      const { object, field } = ObjectFieldBody.parse(body);
      if (object === 'lead') return rt.subscription.addLeadField(NewLeadFieldInput.parse(field));
      return rt.subscription.addObjectField(object, FieldDef.parse(field));
    },
  },
  {
    method: 'POST', path: '/_emulator/schema/fields/hide',
    handler: (rt, body) => {
      const { object, name } = HideBody.parse(body);
      if (object === 'lead') rt.subscription.hideLeadField(name);
      else rt.subscription.hideObjectField(object, name);
      return { ok: true };
    },
  },
  {
    method: 'POST', path: '/_emulator/schema/fields/hostile',
    handler: (rt, body) => ({ fields: HostileFieldsBody.parse(body).names.map((n) => rt.subscription.addHostileLeadField(n)) }),
  },
  { method: 'POST', path: '/_emulator/schema/customobjects', handler: (rt, body) => rt.subscription.addCustomObjectType(CustomObjectTypeInput.parse(body)) },
  { method: 'POST', path: '/_emulator/schema/activitytypes', handler: (rt, body) => rt.subscription.addCustomActivityType(ActivityTypeBody.parse(body)) },

  { method: 'GET', path: '/_emulator/faults', handler: (rt) => ({ faults: rt.faults.list() }) },
  { method: 'POST', path: '/_emulator/faults', handler: (rt, body) => rt.faults.add(FaultRule.parse(body)) },
  { method: 'DELETE', path: '/_emulator/faults', handler: (rt) => { rt.faults.clear(); return { ok: true }; } },
  { method: 'DELETE', path: '/_emulator/faults/:id', handler: (rt, _b, q) => ({ removed: rt.faults.remove(q.get(':id') ?? '') }) },
  { method: 'POST', path: '/_emulator/faults/seed', handler: (rt, body) => { rt.faults.reseed(FaultSeedBody.parse(body).seed); return { ok: true }; } },

  { method: 'GET', path: '/_emulator/bulk/faults', handler: (rt) => bulkFaults(rt) },
  {
    method: 'POST', path: '/_emulator/bulk/faults',
    handler: (rt, body) => {
      const { failExports, failImports, ...switches } = BulkFaultsBody.parse(body);
      const service = bulkService(rt.subscription);
      Object.assign(service.faults, switches);
      if (failExports !== undefined) service.exports.failNext = failExports;
      if (failImports !== undefined) service.imports.failNext = failImports;
      return bulkFaults(rt);
    },
  },

  { method: 'GET', path: '/_emulator/clock', handler: (rt) => ({ now: new Date(rt.clock.now()).toISOString() }) },
  {
    method: 'POST', path: '/_emulator/clock',
    handler: (rt, body) => {
      const b = ClockBody.parse(body);
      if ('advanceMs' in b) rt.clock.advance(b.advanceMs);
      else rt.clock.set(Date.parse(b.set));
      return { now: new Date(rt.clock.now()).toISOString() };
    },
  },
  { method: 'POST', path: '/_emulator/tokens/expire', handler: (rt) => { rt.tokens.expireAll(); return { ok: true }; } },
  { method: 'POST', path: '/_emulator/tokens/revoke', handler: (rt) => { rt.tokens.revokeAll(); return { ok: true }; } },

  { method: 'POST', path: '/_emulator/seed', handler: (rt, body) => seedSubscription(rt.subscription, SeedOptions.parse(body)) },

  { method: 'POST', path: '/_emulator/user/leads/edit', handler: (rt, body) => { const b = EditLeadBody.parse(body); return { changed: rt.subscription.editLeadAsUser(b.id, b.changes) }; } },
  { method: 'POST', path: '/_emulator/user/leads/merge', handler: (rt, body) => { const b = MergeBody.parse(body); rt.subscription.mergeLeads(b.winnerId, b.loserIds, 'Web client'); return { ok: true }; } },
  { method: 'POST', path: '/_emulator/user/leads/delete', handler: (rt, body) => ({ result: rt.subscription.deleteLeads(DeleteBody.parse(body).ids, 'Web client') }) },
  { method: 'POST', path: '/_emulator/user/lists', handler: (rt, body) => { const l = rt.subscription.createList(ListBody.parse(body)); return { id: l.id, name: l.name }; } },
  { method: 'POST', path: '/_emulator/user/lists/members', handler: (rt, body) => { const b = ListMembersBody.parse(body); return { result: rt.subscription.addToList(b.listId, b.leadIds, 'Web client') }; } },
  { method: 'POST', path: '/_emulator/user/programs', handler: (rt, body) => { const p = rt.subscription.createProgram(ProgramBody.parse(body)); return { id: p.id, name: p.name, statuses: p.statuses }; } },
  { method: 'POST', path: '/_emulator/user/programs/status', handler: (rt, body) => { const b = ProgramStatusBody.parse(body); return { status: rt.subscription.setProgramStatus(b.programId, b.leadId, b.status) }; } },
];

function bulkFaults(rt: Runtime): Record<string, unknown> {
  const service = bulkService(rt.subscription);
  return { ...service.faults, failExports: service.exports.failNext, failImports: service.imports.failNext };
}

function summary(rt: Runtime): Record<string, unknown> {
  const s = rt.subscription;
  return {
    now: new Date(rt.clock.now()).toISOString(),
    leads: s.leads.count,
    activities: s.activities.count,
    lists: s.lists.size,
    programs: s.programs.size,
    objects: Object.fromEntries([...s.objects].map(([k, v]) => [k, v.size])),
  };
}
