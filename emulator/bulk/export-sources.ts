import { z } from 'zod';
import { MarketoError } from '../http/envelope.js';
import type { Subscription, LeadValue } from '../subscription.js';
import { isoZ } from '../subscription.js';
import type { ExportKind, FileFormat } from './export-jobs.js';
import type { Cell, ExportSource } from './export-file.js';

/**
 * Create-export bodies as Marketo validates them, and the row sources they select from the
 * subscription. Validation happens at create time (1003/1006/1035); rows are produced lazily
 * when the job processes, so a million-lead export streams straight to disk.
 */

const MAX_RANGE_SECONDS = 31 * 86_400;
/** ISO-8601 with offset; Marketo documents "without millis" for bulk filters. */
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})$/;

const rangeSchema = z.object({ startAt: z.string(), endAt: z.string() });
type Range = { start: number; end: number };

function toRange(attr: string, raw: unknown): Range {
  const parsed = rangeSchema.safeParse(raw);
  if (!parsed.success) throw new MarketoError('1003', `Invalid value specified for attribute '${attr}': startAt and endAt are required`);
  const { startAt, endAt } = parsed.data;
  for (const [name, v] of [['startAt', startAt], ['endAt', endAt]] as const) {
    if (!DATE.test(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))) throw new MarketoError('1003', `Invalid date format for '${attr}.${name}': ${v}`);
  }
  const start = Date.parse(startAt.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) / 1000;
  const end = Date.parse(endAt.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) / 1000;
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new MarketoError('1003', `Invalid date for '${attr}'`);
  if (start > end) throw new MarketoError('1003', `'${attr}' startAt is after endAt`);
  if (end - start > MAX_RANGE_SECONDS) throw new MarketoError('1003', `'${attr}' date range exceeds 31 days`);
  return { start, end };
}

const formatSchema = z.enum(['CSV', 'TSV', 'SSV']).default('CSV');
const headerNames = z.record(z.string(), z.string()).optional();
const fieldList = z.array(z.string().min(1)).min(1);

function bodyOf<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MarketoError('1003', `Invalid value specified for attribute '${issue?.path.join('.') || 'body'}': ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function exactlyOneFilter(filter: Record<string, unknown>, allowed: readonly string[]): string {
  const present = Object.keys(filter).filter((k) => filter[k] !== undefined);
  const unknown = present.filter((k) => !allowed.includes(k));
  if (unknown.length) throw new MarketoError('1003', `Invalid value specified for attribute 'filter': unknown filter ${unknown.join(', ')}`);
  if (present.length !== 1) throw new MarketoError('1003', `Invalid value specified for attribute 'filter': exactly one of ${allowed.join(', ')} is required`);
  return present[0]!;
}

export interface BulkFeatures {
  /** Bulk `updatedAt` filters (some subscriptions lack them: 1035). */
  updatedAtFilter: boolean;
  /** Smart list filters (some subscriptions lack them: 1035). */
  smartListFilters: boolean;
}

const UNSUPPORTED = 'Unsupported filter type for target subscription';

/** A validated export: what the job needs to produce its file later. */
export interface ExportSpec {
  format: FileFormat;
  source: () => ExportSource;
  /** The create request it came from: the state file keeps this and rebuilds the spec from it. */
  request?: { body: unknown; apiName?: string };
}

function text(v: LeadValue | undefined): Cell {
  return v === undefined ? null : v;
}

function header(fields: readonly string[], names: Record<string, string> | undefined): string[] {
  return fields.map((f) => names?.[f] ?? f);
}

/** An export whose rows are produced only when the job processes, under the requested header. */
function lazyRows(req: { format: FileFormat; columnHeaderNames?: Record<string, string> | undefined }, fields: readonly string[], rows: () => Iterable<Cell[]>): ExportSpec {
  return { format: req.format, source: () => ({ header: header(fields, req.columnHeaderNames), rows: rows() }) };
}

function listByIdOrName(sub: Subscription, filterName: string, value: unknown): Set<number> {
  const list = filterName === 'staticListId' ? sub.lists.get(Number(value)) : [...sub.lists.values()].find((l) => l.name === value);
  if (!list) throw new MarketoError('1003', `Static list not found: ${String(value)}`);
  return list.members;
}

// ─────────────── leads ───────────────

const LEAD_FILTERS = ['createdAt', 'updatedAt', 'staticListId', 'staticListName', 'smartListId', 'smartListName'] as const;
const leadBody = z.object({ fields: fieldList, format: formatSchema, columnHeaderNames: headerNames, filter: z.record(z.string(), z.unknown()) });

export function leadExport(sub: Subscription, body: unknown, features: BulkFeatures): ExportSpec {
  const req = bodyOf(leadBody, body);
  for (const f of req.fields) if (!sub.leadField(f)) throw new MarketoError('1006', `Field '${f}' not found`);
  const kind = exactlyOneFilter(req.filter, LEAD_FILTERS);
  if (kind.startsWith('smartList') && !features.smartListFilters) throw new MarketoError('1035', UNSUPPORTED);
  if (kind === 'updatedAt' && !features.updatedAtFilter) throw new MarketoError('1035', UNSUPPORTED);
  if (kind.startsWith('smartList')) throw new MarketoError('1003', 'Smart list not found');
  const range = kind === 'createdAt' || kind === 'updatedAt' ? toRange(kind, req.filter[kind]) : undefined;
  const members = kind.startsWith('staticList') ? listByIdOrName(sub, kind, req.filter[kind]) : undefined;
  const fields = req.fields;
  return lazyRows(req, fields, function* () {
    const read = sub.leadRowReader(fields);
    // Exactly one of range and members is set (the filter is createdAt, updatedAt or a static list).
    const ids = range ? sub.leads.idsBetween(kind === 'createdAt' ? 'createdAt' : 'updatedAt', range.start, range.end) : [...(members ?? [])].sort((a, b) => a - b);
    for (const id of ids) if (range || sub.leads.exists(id)) yield read(id);
  });
}

// ─────────────── activities ───────────────

export const ACTIVITY_COLUMNS = ['marketoGUID', 'leadId', 'activityDate', 'activityTypeId', 'campaignId', 'primaryAttributeValueId', 'primaryAttributeValue', 'attributes'] as const;
const ACTIVITY_FIELDS = new Set<string>([...ACTIVITY_COLUMNS, 'actionResult']);
const DELETE_LEAD = 37;
const activityBody = z.object({
  fields: fieldList.optional(),
  format: formatSchema,
  columnHeaderNames: headerNames,
  filter: z.object({
    createdAt: z.unknown(),
    activityTypeIds: z.array(z.number().int()).optional(),
    primaryAttributeValueIds: z.array(z.number().int()).max(50).optional(),
    primaryAttributeValues: z.array(z.string()).max(50).optional(),
  }).strict(),
});

export function activityExport(sub: Subscription, body: unknown): ExportSpec {
  const req = bodyOf(activityBody, body);
  if (req.filter.createdAt === undefined) throw new MarketoError('1003', "Invalid value specified for attribute 'filter': createdAt is required");
  const range = toRange('createdAt', req.filter.createdAt);
  const fields = req.fields ?? [...ACTIVITY_COLUMNS];
  for (const f of fields) if (!ACTIVITY_FIELDS.has(f)) throw new MarketoError('1006', `Field '${f}' not found`);
  const typeIds = req.filter.activityTypeIds;
  if (typeIds?.includes(DELETE_LEAD)) throw new MarketoError('1003', 'Activity type 37 (Delete Lead) is not supported: use Get Deleted Leads');
  if (req.filter.primaryAttributeValueIds && req.filter.primaryAttributeValues) throw new MarketoError('1003', 'primaryAttributeValueIds and primaryAttributeValues are mutually exclusive');
  if ((req.filter.primaryAttributeValueIds || req.filter.primaryAttributeValues) && !typeIds?.length) throw new MarketoError('1003', 'primary attribute filters require activityTypeIds');
  const byName = req.filter.primaryAttributeValues ? new Set(req.filter.primaryAttributeValues) : undefined;
  return lazyRows(req, fields, function* () {
    // activitiesBetween is end-exclusive; the filter's endAt is inclusive.
    for (const a of sub.activitiesBetween(range.start, range.end + 1, typeIds, req.filter.primaryAttributeValueIds)) {
      if (byName && !byName.has(a.primaryAttributeValue ?? '')) continue;
      yield fields.map((f): Cell => {
        switch (f) {
          case 'marketoGUID':
            return a.marketoGUID;
          case 'leadId':
            return a.leadId;
          case 'activityDate':
            return isoZ(a.date);
          case 'activityTypeId':
            return a.activityTypeId;
          case 'campaignId':
            return a.campaignId ?? null;
          case 'primaryAttributeValueId':
            return a.primaryAttributeValueId ?? null;
          case 'primaryAttributeValue':
            return a.primaryAttributeValue ?? null;
          case 'attributes':
            return JSON.stringify(Object.fromEntries(a.attributes.map((x) => [x.name, x.value])));
          default:
            return 'succeeded';
        }
      });
    }
  });
}

// ─────────────── program members ───────────────

const MEMBER_FIELDS = ['programId', 'leadId', 'membershipDate', 'progressionStatus', 'progressionStatusType', 'acquiredBy', 'reachedSuccess', 'isExhausted', 'updatedAt'] as const;
const memberBody = z.object({
  fields: fieldList,
  format: formatSchema,
  columnHeaderNames: headerNames,
  filter: z.object({
    programId: z.number().int().optional(),
    programIds: z.array(z.number().int()).min(1).max(10).optional(),
    isExhausted: z.boolean().optional(),
    nurtureCadence: z.enum(['paused', 'normal']).optional(),
    statusNames: z.array(z.string()).optional(),
    updatedAt: z.unknown().optional(),
  }).strict(),
});

export function programMemberExport(sub: Subscription, body: unknown): ExportSpec {
  const req = bodyOf(memberBody, body);
  const f = req.filter;
  if ((f.programId === undefined) === (f.programIds === undefined)) throw new MarketoError('1003', "Invalid value specified for attribute 'filter': exactly one of programId, programIds is required");
  const programIds = f.programIds ?? [f.programId!];
  const programs = programIds.map((id) => {
    const p = sub.programs.get(id);
    if (!p) throw new MarketoError('1013', `Program ${id} not found`);
    return p;
  });
  for (const field of req.fields) if (!(MEMBER_FIELDS as readonly string[]).includes(field) && !sub.leadField(field)) throw new MarketoError('1006', `Field '${field}' not found`);
  const range = f.updatedAt === undefined ? undefined : toRange('updatedAt', f.updatedAt);
  // Several programs: Marketo adds a leading programId column.
  const fields = f.programIds && !req.fields.includes('programId') ? ['programId', ...req.fields] : req.fields;
  const statuses = f.statusNames ? new Set(f.statusNames) : undefined;
  return lazyRows(req, fields, function* () {
    // Lead fields of the member are read by one row reader; `leadColumn[i]` is field i's place in its row.
    const leadFields = fields.filter((field) => !(MEMBER_FIELDS as readonly string[]).includes(field));
    const leadColumn = fields.map((field) => leadFields.indexOf(field));
    const readLead = sub.leadRowReader(leadFields);
    for (const p of programs) {
      for (const [leadId, m] of p.members) {
        if (f.isExhausted !== undefined && m.isExhausted !== f.isExhausted) continue;
        if (statuses && !statuses.has(m.progressionStatus)) continue;
        if (range && (m.updatedAt < range.start || m.updatedAt > range.end)) continue;
        const lead = leadFields.length > 0 ? readLead(leadId) : [];
        yield fields.map((field, i): Cell => {
          switch (field) {
            case 'programId':
              return p.id;
            case 'leadId':
              return leadId;
            case 'membershipDate':
              return isoZ(m.membershipDate);
            case 'updatedAt':
              return isoZ(m.updatedAt);
            case 'progressionStatus':
            case 'progressionStatusType':
            case 'acquiredBy':
            case 'reachedSuccess':
            case 'isExhausted':
              return m[field];
            default:
              return text(lead[leadColumn[i] as number]);
          }
        });
      }
    }
  });
}

// ─────────────── custom objects ───────────────

const CO_FILTERS = ['updatedAt', 'staticListId', 'staticListName', 'smartListId', 'smartListName'] as const;
const coBody = z.object({ fields: fieldList, format: formatSchema, columnHeaderNames: headerNames, filter: z.record(z.string(), z.unknown()) });

export function customObjectExport(sub: Subscription, apiName: string, body: unknown, features: BulkFeatures): ExportSpec {
  const type = sub.objectType(apiName);
  if (!type || type.kind !== 'custom') throw new MarketoError('1013', `Custom object ${apiName} not found`);
  const req = bodyOf(coBody, body);
  const known = new Set([...type.fields.map((x) => x.name), 'marketoGUID', 'createdAt', 'updatedAt']);
  for (const f of req.fields) if (!known.has(f)) throw new MarketoError('1006', `Field '${f}' not found`);
  const kind = exactlyOneFilter(req.filter, CO_FILTERS);
  if (kind.startsWith('smartList')) throw new MarketoError('1035', UNSUPPORTED);
  if (kind === 'updatedAt' && !features.updatedAtFilter) throw new MarketoError('1035', UNSUPPORTED);
  const range = kind === 'updatedAt' ? toRange(kind, req.filter[kind]) : undefined;
  const link = type.relationships.find((r) => r.type === 'parent' && r.relatedTo.name === 'Lead');
  let linked: Set<string> | undefined;
  if (kind.startsWith('staticList')) {
    if (!link) throw new MarketoError('1003', `Custom object ${apiName} is not linked to leads`);
    const members = listByIdOrName(sub, kind, req.filter[kind]);
    linked = new Set([...members].map((id) => String(sub.leadValue(id, link.relatedTo.field))));
  }
  const fields = req.fields;
  return lazyRows(req, fields, function* () {
    for (const rec of sub.iterateObjects(type.name)) {
      if (range && (rec.updatedAt < range.start || rec.updatedAt > range.end)) continue;
      if (linked && link && !linked.has(String(rec.values[link.field]))) continue;
      const view = sub.objectView(type, rec);
      yield fields.map((f) => text(view[f]));
    }
  });
}

export function exportSpecFor(kind: ExportKind, sub: Subscription, body: unknown, features: BulkFeatures, apiName?: string): ExportSpec {
  return { ...specOf(kind, sub, body, features, apiName), request: { body, apiName } };
}

function specOf(kind: ExportKind, sub: Subscription, body: unknown, features: BulkFeatures, apiName?: string): ExportSpec {
  switch (kind) {
    case 'leads':
      return leadExport(sub, body, features);
    case 'activities':
      return activityExport(sub, body);
    case 'programMembers':
      return programMemberExport(sub, body);
    case 'customObjects':
      return customObjectExport(sub, apiName ?? '', body, features);
  }
}
