import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunningEmulator } from '../../emulator/index.js';
import { call, start, token } from './helpers.js';

/**
 * Conformance against Adobe's official Swagger 2.0 files: every route the emulator serves must be
 * an operation of the spec, read only declared parameters, and answer with bodies that validate
 * against the operation's 200 schema. Spec quirks (marketo-api.md §14) are handled explicitly
 * below, each with its reason.
 */
// shared/ sits beside the checkout (locally and in CI); MARKETO_OPENAPI_DIR overrides.
const SPEC_DIR = process.env.MARKETO_OPENAPI_DIR ?? path.resolve(process.cwd(), '..', 'shared', 'marketo-openapi');

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  required?: string[];
  additionalProperties?: boolean | Schema;
}
interface Parameter {
  name: string;
  in: string;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  responses: Record<string, { schema?: Schema }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

const specs: Spec[] = ['swagger-mapi.json', 'swagger-asset.json', 'swagger-identity.json'].map((f) => JSON.parse(readFileSync(`${SPEC_DIR}/${f}`, 'utf8')) as Spec);

/**
 * `required` in these files cannot be trusted (§14): envelopes require errors/warnings that real
 * success responses omit (§3.1), ObjectMetaData requires the schema-API-only apiName/pluralName/
 * state/version on every describe, skipped records "require" the key they do not have (§3.2).
 * Only the envelope's own requestId and success are checked as required.
 */
const ENVELOPE_REQUIRED = ['requestId', 'success'];

/** Legacy operations real Marketo serves that the spec does not list. */
const SERVED_OUTSIDE_SPEC: Record<string, string> = {
  'DELETE /rest/v1/leads.json': 'legacy delete via POST /rest/v1/leads.json?_method=DELETE, recorded real traffic (marketo-api.md §1.3)',
};

/** Enum values the spec lists differently from Adobe's own documented/recorded responses. */
const ENUM_EXCEPTIONS: Record<string, unknown[]> = {
  // §8.3 documents `created` for leads newly added to the program
  'status@POST /rest/v1/programs/:programId/members/status.json': ['created'],
  // §8.2: program type is Default|Event|Event with Webinar|Engagement|Email; status "" for default programs
  'type@GET /rest/asset/v1/programs.json': ['Default', 'Event', 'Event with Webinar', 'Engagement', 'Email'],
  'type@GET /rest/asset/v1/program/byName.json': ['Default', 'Event', 'Event with Webinar', 'Engagement', 'Email'],
  'type@GET /rest/asset/v1/program/:id.json': ['Default', 'Event', 'Event with Webinar', 'Engagement', 'Email'],
  'status@GET /rest/asset/v1/programs.json': [''],
  'status@GET /rest/asset/v1/program/byName.json': [''],
  'status@GET /rest/asset/v1/program/:id.json': [''],
};

/** Parameters real Marketo takes that the spec omits (marketo-api.md §8.2: programs browse filterValues). */
const UNDECLARED_BUT_REAL: Record<string, string[]> = {
  'GET /rest/asset/v1/programs.json': ['filterValues'],
};

function findOperation(method: string, routePath: string): { spec: Spec; op: Operation; specPath: string } | undefined {
  const shape = routePath.replace(/:[A-Za-z_]+/g, '{}');
  for (const spec of specs) {
    for (const [p, ops] of Object.entries(spec.paths)) {
      if (p.replace(/\{[^}]+\}/g, '{}') !== shape) continue;
      const op = ops[method.toLowerCase()];
      if (op) return { spec, op, specPath: p };
    }
  }
  return undefined;
}

function resolve(spec: Spec, s: Schema): Schema {
  let cur = s;
  for (let i = 0; cur.$ref && i < 20; i++) cur = spec.definitions[cur.$ref.replace('#/definitions/', '')] ?? {};
  return cur;
}

/** A small Swagger 2.0 schema validator: $ref, type, properties, items, enum, required. */
function validate(spec: Spec, schema: Schema, value: unknown, path: string, problems: string[], key: string, top = false): void {
  const s = resolve(spec, schema);
  if (value === null || value === undefined) return; // Marketo writes absent values as null (§1.4).
  const t = s.type ?? (s.properties ? 'object' : undefined);
  // A property-less `object` is Java's Object in these files (attribute values, §14's
  // LeadAttribute2SearchableFields that really is string[][]): any JSON value.
  if (t === 'object' && (!s.properties || Object.keys(s.properties).length === 0)) return;
  const field = path.replace(/\[\d+\]/g, '').split('.').pop() ?? '';
  switch (t) {
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) { problems.push(`${path}: expected object`); return; }
      if (top) for (const r of ENVELOPE_REQUIRED) if (!(r in (value as object))) problems.push(`${path}.${r}: required`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const ps = s.properties?.[k];
        if (ps) validate(spec, ps, v, `${path}.${k}`, problems, key);
      }
      return;
    case 'array':
      if (!Array.isArray(value)) { problems.push(`${path}: expected array`); return; }
      value.forEach((v, i) => s.items && validate(spec, s.items, v, `${path}[${i}]`, problems, key));
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: expected string, got ${JSON.stringify(value)}`);
      else if (s.enum && !s.enum.includes(value) && !(ENUM_EXCEPTIONS[`${field}@${key}`] ?? []).includes(value)) problems.push(`${path}: ${value} not in enum ${JSON.stringify(s.enum)}`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) problems.push(`${path}: expected integer, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: expected number`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected boolean`);
      return;
    default:
      return;
  }
}

function declaredParams(spec: Spec, op: Operation): Set<string> {
  const names = new Set<string>();
  for (const p of op.parameters ?? []) {
    if (p.in === 'body' && p.schema) for (const k of Object.keys(resolve(spec, p.schema).properties ?? {})) names.add(k);
    else names.add(p.name);
  }
  return names;
}

describe('conformance with the official Marketo OpenAPI files', () => {
  let em: RunningEmulator;
  let t: string;
  beforeAll(async () => {
    em = await start({ seed: { leads: 60, programs: 2, lists: 2, seed: 3 } });
    t = await token(em);
  });
  afterAll(async () => em.close());

  it('serves only operations that exist in the spec', () => {
    const missing = em.routes.filter((r) => !findOperation(r.method, r.path) && !SERVED_OUTSIDE_SPEC[`${r.method} ${r.path}`]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('answers every served operation with a body valid for its 200 schema, reading only declared parameters', async () => {
    const sub = em.subscription;
    const list = [...sub.lists.values()][0];
    const program = [...sub.programs.values()][0];
    if (!list || !program) throw new Error('seed made no list/program');
    const coRecord = [...sub.iterateObjects('purchase_c')][0];
    const pt = (await call(em, '/rest/v1/activities/pagingtoken.json?sinceDatetime=2000-01-01T00:00:00Z', { token: t })).body.nextPageToken as string;
    const tok = encodeURIComponent(pt);
    const custom = sub.addCustomActivityType({ apiName: 'gameWon', name: 'Game Won', primaryAttribute: { apiName: 'game', name: 'Game' }, attributes: [{ apiName: 'score', name: 'Score', dataType: 'integer' }] });

    type Sample = { path: string; json?: unknown; form?: Record<string, string>; method?: string };
    const samples: Record<string, Sample> = {
      'GET /rest/v1/lead/:leadId.json': { path: '/rest/v1/lead/1.json?fields=email,firstName,leadScore' },
      'GET /rest/v1/leads.json': { path: '/rest/v1/leads.json?filterType=id&filterValues=1,2,3&batchSize=2' },
      'POST /rest/v1/leads.json': { path: '/rest/v1/leads.json', json: { action: 'createOrUpdate', lookupField: 'email', input: [{ email: 'spec@example.com' }, { email: 'bad' }] } },
      'DELETE /rest/v1/leads.json': { path: '/rest/v1/leads.json?_method=DELETE', json: { input: [{ id: 50 }] }, method: 'POST' },
      'POST /rest/v1/leads/delete.json': { path: '/rest/v1/leads/delete.json', json: { input: [{ id: 51 }, { id: 99999 }] } },
      'POST /rest/v1/leads/:leadId/merge.json': { path: '/rest/v1/leads/40/merge.json?leadIds=41,42&mergeInCRM=false', method: 'POST' },
      'GET /rest/v1/leads/describe.json': { path: '/rest/v1/leads/describe.json' },
      'GET /rest/v1/leads/describe2.json': { path: '/rest/v1/leads/describe2.json' },
      'GET /rest/v1/leads/partitions.json': { path: '/rest/v1/leads/partitions.json' },
      'GET /rest/v1/leads/schema/fields.json': { path: '/rest/v1/leads/schema/fields.json?batchSize=20' },
      'GET /rest/v1/leads/schema/fields/:fieldApiName.json': { path: '/rest/v1/leads/schema/fields/email.json' },
      'POST /rest/v1/leads/schema/fields.json': { path: '/rest/v1/leads/schema/fields.json', json: { input: [{ name: 'specField', displayName: 'Spec Field', dataType: 'string', description: 'from the spec test' }] } },
      'POST /rest/v1/leads/schema/fields/:fieldApiName.json': { path: '/rest/v1/leads/schema/fields/specField.json', json: { input: { displayName: 'Spec Field 2', isHidden: false } } },
      'GET /rest/v1/companies/schema/fields.json': { path: '/rest/v1/companies/schema/fields.json' },
      'GET /rest/v1/companies/schema/fields/:fieldApiName.json': { path: '/rest/v1/companies/schema/fields/company.json' },
      'GET /rest/v1/opportunities/schema/fields.json': { path: '/rest/v1/opportunities/schema/fields.json' },
      'GET /rest/v1/opportunities/schema/fields/:fieldApiName.json': { path: '/rest/v1/opportunities/schema/fields/name.json' },
      'POST /rest/v1/leads/partitions.json': { path: '/rest/v1/leads/partitions.json', json: { input: [{ id: 8, partitionName: 'Default' }, { id: 9, partitionName: 'Nope' }] } },
      'POST /rest/v1/leads/push.json': { path: '/rest/v1/leads/push.json', json: { programName: program.name, lookupField: 'email', source: 'spec', reason: 'test', programStatus: 'Registered', input: [{ email: 'pushed@example.com' }] } },
      'GET /rest/v1/programs/:programId/members.json': { path: `/rest/v1/programs/${program.id}/members.json?filterType=leadId&filterValues=${[...program.members.keys()].slice(0, 3).join(',')}&fields=leadId,programId,progressionStatus,membershipDate,reachedSuccess,acquiredBy,email&batchSize=2` },
      'POST /rest/v1/programs/:programId/members.json': { path: `/rest/v1/programs/${program.id}/members.json`, json: { input: [{ leadId: [...program.members.keys()][0] ?? 1 }, { leadId: 99999 }] } },
      'POST /rest/v1/programs/:programId/members/delete.json': { path: `/rest/v1/programs/${program.id}/members/delete.json`, json: { input: [{ leadId: [...program.members.keys()][1] ?? 1 }, { leadId: 99999 }] } },
      'GET /rest/v1/programs/members/describe.json': { path: '/rest/v1/programs/members/describe.json' },
      'GET /rest/v1/program/members/describe.json': { path: '/rest/v1/program/members/describe.json' },
      'GET /rest/v1/leads/:leadId/listMembership.json': { path: `/rest/v1/leads/${[...list.members][0] ?? 1}/listMembership.json?batchSize=10` },
      'GET /rest/v1/leads/:leadId/programMembership.json': { path: `/rest/v1/leads/${[...program.members.keys()][0] ?? 1}/programMembership.json?filterType=programId&filterValues=${program.id}&earliestUpdatedAt=2000-01-01T00:00:00Z&latestUpdatedAt=2100-01-01T00:00:00Z&batchSize=10` },
      'GET /rest/v1/opportunities/roles.json': { path: '/rest/v1/opportunities/roles.json?filterType=externalOpportunityId&filterValues=EXT-O-1' },
      'POST /rest/v1/opportunities/roles.json': { path: '/rest/v1/opportunities/roles.json', json: { input: [{ externalOpportunityId: 'EXT-O-1', leadId: 3, role: 'Spec' }] } },
      'POST /rest/v1/opportunities/roles/delete.json': { path: '/rest/v1/opportunities/roles/delete.json', json: { input: [{ externalOpportunityId: 'EXT-O-1', leadId: 3, role: 'Spec' }] } },
      'GET /rest/v1/opportunities/roles/describe.json': { path: '/rest/v1/opportunities/roles/describe.json' },
      'GET /rest/v1/opportunities.json': { path: '/rest/v1/opportunities.json?filterType=idField&filterValues=x&fields=name' },
      'POST /rest/v1/opportunities.json': { path: '/rest/v1/opportunities.json', json: { action: 'createOrUpdate', dedupeBy: 'dedupeFields', input: [{ externalOpportunityId: 'SPEC-1', name: 'Spec' }] } },
      'POST /rest/v1/opportunities/delete.json': { path: '/rest/v1/opportunities/delete.json', json: { deleteBy: 'dedupeFields', input: [{ externalOpportunityId: 'SPEC-1' }] } },
      'GET /rest/v1/opportunities/describe.json': { path: '/rest/v1/opportunities/describe.json' },
      'GET /rest/v1/companies.json': { path: '/rest/v1/companies.json?filterType=externalCompanyId&filterValues=EXT-C-1,EXT-C-2&fields=company,industry' },
      'POST /rest/v1/companies.json': { path: '/rest/v1/companies.json', json: { input: [{ externalCompanyId: 'SPEC-C', company: 'Spec Inc' }] } },
      'POST /rest/v1/companies/delete.json': { path: '/rest/v1/companies/delete.json', json: { input: [{ externalCompanyId: 'SPEC-C' }] } },
      'GET /rest/v1/companies/describe.json': { path: '/rest/v1/companies/describe.json' },
      'GET /rest/v1/salespersons.json': { path: '/rest/v1/salespersons.json?filterType=externalSalesPersonId&filterValues=EXT-SP-1' },
      'POST /rest/v1/salespersons.json': { path: '/rest/v1/salespersons.json', json: { input: [{ externalSalesPersonId: 'SPEC-SP', email: 'sp@example.com' }] } },
      'POST /rest/v1/salespersons/delete.json': { path: '/rest/v1/salespersons/delete.json', json: { input: [{ externalSalesPersonId: 'SPEC-SP' }] } },
      'GET /rest/v1/salespersons/describe.json': { path: '/rest/v1/salespersons/describe.json' },
      'GET /rest/v1/customobjects.json': { path: '/rest/v1/customobjects.json?names=purchase_c' },
      'GET /rest/v1/customobjects/:customObjectName.json': { path: `/rest/v1/customobjects/purchase_c.json?filterType=marketoGUID&filterValues=${coRecord?.marketoGUID ?? ''}&fields=purchaseId,product,amount` },
      'POST /rest/v1/customobjects/:customObjectName.json': { path: '/rest/v1/customobjects/purchase_c.json', json: { input: [{ purchaseId: 'SPEC-P', leadId: 2, product: 'Pro' }] } },
      'POST /rest/v1/customobjects/:customObjectName/delete.json': { path: '/rest/v1/customobjects/purchase_c/delete.json', json: { deleteBy: 'dedupeFields', input: [{ purchaseId: 'SPEC-P' }, { purchaseId: 'nope' }] } },
      'GET /rest/v1/customobjects/:customObjectName/describe.json': { path: '/rest/v1/customobjects/purchase_c/describe.json' },
      'GET /rest/v1/activities/types.json': { path: '/rest/v1/activities/types.json' },
      'GET /rest/v1/activities/external/types.json': { path: '/rest/v1/activities/external/types.json' },
      'GET /rest/v1/activities/pagingtoken.json': { path: '/rest/v1/activities/pagingtoken.json?sinceDatetime=2020-01-01T00:00:00-05:00' },
      'GET /rest/v1/activities.json': { path: `/rest/v1/activities.json?activityTypeIds=12,13,24,34,104&nextPageToken=${tok}&batchSize=50&leadIds=1,2,3,4,5,6,7,8,9,10` },
      'GET /rest/v1/activities/leadchanges.json': { path: `/rest/v1/activities/leadchanges.json?fields=title,leadScore&nextPageToken=${tok}&batchSize=50&listId=${list.id}` },
      'GET /rest/v1/activities/deletedleads.json': { path: `/rest/v1/activities/deletedleads.json?nextPageToken=${tok}&batchSize=300` },
      'POST /rest/v1/activities/external.json': { path: '/rest/v1/activities/external.json', json: { input: [{ leadId: 1, activityDate: '2026-01-01T00:00:00Z', activityTypeId: custom.id, primaryAttributeValue: 'Chess', attributes: [{ apiName: 'score', value: 3 }] }, { leadId: 99999, activityDate: '2026-01-01T00:00:00Z', activityTypeId: custom.id, primaryAttributeValue: 'Go', attributes: [] }] } },
      'GET /rest/v1/lists.json': { path: `/rest/v1/lists.json?id=${list.id}&batchSize=10` },
      'GET /rest/v1/lists/:listId.json': { path: `/rest/v1/lists/${list.id}.json` },
      'GET /rest/v1/lists/:listId/leads.json': { path: `/rest/v1/lists/${list.id}/leads.json?fields=email&batchSize=2` },
      'GET /rest/v1/list/:listId/leads.json': { path: `/rest/v1/list/${list.id}/leads.json?batchSize=2` },
      'POST /rest/v1/lists/:listId/leads.json': { path: `/rest/v1/lists/${list.id}/leads.json`, json: { input: [{ id: 5 }, { id: 99999 }] } },
      'DELETE /rest/v1/lists/:listId/leads.json': { path: `/rest/v1/lists/${list.id}/leads.json?id=5`, method: 'DELETE' },
      'GET /rest/v1/lists/:listId/leads/ismember.json': { path: `/rest/v1/lists/${list.id}/leads/ismember.json?id=5,6,99999` },
      'GET /rest/v1/leads/programs/:programId.json': { path: `/rest/v1/leads/programs/${program.id}.json?fields=email&batchSize=5` },
      'POST /rest/v1/programs/:programId/members/status.json': { path: `/rest/v1/programs/${program.id}/members/status.json`, json: { statusName: 'Attended', input: [{ leadId: 7 }, { leadId: 99999 }] } },
      'GET /rest/v1/stats/usage.json': { path: '/rest/v1/stats/usage.json' },
      'GET /rest/v1/stats/usage/last7days.json': { path: '/rest/v1/stats/usage/last7days.json' },
      'GET /rest/v1/stats/errors.json': { path: '/rest/v1/stats/errors.json' },
      'GET /rest/v1/stats/errors/last7days.json': { path: '/rest/v1/stats/errors/last7days.json' },
      'GET /rest/asset/v1/programs.json': { path: '/rest/asset/v1/programs.json?maxReturn=200&offset=0&earliestUpdatedAt=2000-01-01T00:00:00Z&latestUpdatedAt=2100-01-01T00:00:00Z' },
      'GET /rest/asset/v1/program/byName.json': { path: `/rest/asset/v1/program/byName.json?name=${encodeURIComponent(program.name)}` },
      'GET /rest/asset/v1/program/:id.json': { path: `/rest/asset/v1/program/${program.id}.json` },
      'GET /rest/asset/v1/staticLists.json': { path: '/rest/asset/v1/staticLists.json?folder=%7B%22id%22%3A12%2C%22type%22%3A%22Folder%22%7D&maxReturn=50' },
      'GET /rest/asset/v1/staticList/byName.json': { path: `/rest/asset/v1/staticList/byName.json?name=${encodeURIComponent(list.name)}` },
      'GET /rest/asset/v1/staticList/:id.json': { path: `/rest/asset/v1/staticList/${list.id}.json` },
      'POST /rest/asset/v1/staticLists.json': { path: '/rest/asset/v1/staticLists.json', form: { name: 'Spec list', folder: '{"id":12,"type":"Folder"}', description: 'd' } },
      'POST /rest/asset/v1/staticList/:id/delete.json': { path: '/rest/asset/v1/staticList/__NEW__/delete.json', method: 'POST' },
    };

    const problems: string[] = [];
    let newListId = 0;
    for (const route of em.routes) {
      const key = `${route.method} ${route.path}`;
      if (route.path.startsWith('/bulk/')) continue; // bulk routes are exercised by the bulk module's own tests
      const sample = samples[key];
      if (!sample) {
        problems.push(`${key}: no sample request in this test`);
        continue;
      }
      const found = findOperation(route.method, route.path);
      if (!found) continue;
      const path = sample.path.replace('__NEW__', String(newListId));
      const r = await call(em, path, { token: t, json: sample.json, form: sample.form, method: sample.method });
      if (!r.body.success) {
        problems.push(`${key}: ${JSON.stringify(r.body.errors)}`);
        continue;
      }
      if (key === 'POST /rest/asset/v1/staticLists.json') newListId = r.body.result?.[0]?.id as number;
      const schema = found.op.responses['200']?.schema;
      if (!schema) problems.push(`${key}: no 200 schema in spec`);
      else validate(found.spec, schema, r.body, key, problems, key, true);
      const declared = declaredParams(found.spec, found.op);
      for (const read of em.runtime.paramReads.get(key) ?? []) {
        if (!declared.has(read) && !(UNDECLARED_BUT_REAL[key] ?? []).includes(read)) problems.push(`${key}: reads undeclared parameter '${read}'`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists the spec operations the emulator does not serve (documented in docs/emulator.md)', () => {
    const served = new Set(em.routes.map((r) => `${r.method} ${r.path.replace(/:[A-Za-z_]+/g, '{}')}`));
    const unserved: string[] = [];
    for (const spec of specs) {
      for (const [p, ops] of Object.entries(spec.paths)) {
        for (const m of Object.keys(ops)) {
          const key = `${m.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`;
          if (!served.has(key) && p !== '/identity/oauth/token') unserved.push(`${m.toUpperCase()} ${p}`);
        }
      }
    }
    // The emulator covers the lead database core; the rest is listed, not silently ignored.
    expect(unserved.length).toBeGreaterThan(0);
    expect(unserved).toContain('POST /rest/v1/leads/submitForm.json');
    expect(unserved).not.toContain('POST /rest/v1/leads/push.json');
    if (process.env.PRINT_UNSERVED) console.log(unserved.join('\n'));
  });
});
