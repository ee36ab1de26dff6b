import { z } from 'zod';

/**
 * The Marketo Describe shapes the mapping needs (marketo-api.md §5), defined here as plain data so
 * the mapping does not depend on the Marketo client: activities pass Describe results in.
 */

/** Data types seen in Describe (§5.6), plus `picklist` which some field-management screens report. */
export const MarketoDataType = z.enum([
  'string', 'text', 'email', 'phone', 'url', 'integer', 'float', 'currency', 'percent', 'score',
  'boolean', 'date', 'datetime', 'reference', 'formula', 'picklist',
]);
export type MarketoDataType = z.infer<typeof MarketoDataType>;

export const MarketoField = z.object({
  name: z.string().min(1),
  displayName: z.string().optional(),
  dataType: MarketoDataType,
  length: z.number().int().positive().nullish(),
  updateable: z.boolean(),
  crmManaged: z.boolean().optional(),
  /** From the field-schema endpoints (§5.5); describe2 does not say, so absent means visible. */
  isHidden: z.boolean().optional(),
});
export type MarketoField = z.infer<typeof MarketoField>;

/** One `result[]` item of `GET /rest/v1/leads/describe2.json` (§5.2). */
export const LeadDescribe = z.object({
  name: z.string(),
  searchableFields: z.array(z.array(z.string())),
  fields: z.array(MarketoField),
});
export type LeadDescribe = z.infer<typeof LeadDescribe>;

export const Relationship = z.object({
  field: z.string(),
  type: z.enum(['parent', 'child']),
  relatedTo: z.object({ name: z.string(), field: z.string() }),
});

/** `ObjectMetaData` of companies, opportunities, roles, salespersons and custom objects (§5.3). */
export const ObjectMetaData = z.object({
  name: z.string().min(1),
  displayName: z.string().optional(),
  description: z.string().nullish(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
  idField: z.string().min(1),
  dedupeFields: z.array(z.string().min(1)).min(1),
  searchableFields: z.array(z.array(z.string())),
  fields: z.array(MarketoField),
  relationships: z.array(Relationship).optional(),
});
export type ObjectMetaData = z.infer<typeof ObjectMetaData>;

/** Marketo objects a mapping can address; custom objects as `customObject:<apiName>`. */
export const MarketoObjectName = z
  .string()
  .regex(/^(lead|company|opportunity|opportunityRole|salesPerson|customObject:[A-Za-z][A-Za-z0-9_]*)$/, {
    message: 'expected lead, company, opportunity, opportunityRole, salesPerson or customObject:<apiName>',
  });
export type MarketoObjectName = z.infer<typeof MarketoObjectName>;

/** Everything Describe told us about the subscription, as the mapping consumes it. */
export const MarketoSchemas = z.object({
  lead: LeadDescribe,
  company: ObjectMetaData.optional(),
  opportunity: ObjectMetaData.optional(),
  opportunityRole: ObjectMetaData.optional(),
  salesPerson: ObjectMetaData.optional(),
  customObjects: z.record(z.string(), ObjectMetaData).default({}),
});
export type MarketoSchemas = z.infer<typeof MarketoSchemas>;

export interface MarketoObjectSchema {
  name: MarketoObjectName;
  fields: Map<string, MarketoField>;
  /** Keys Marketo lets a client set on create although Describe marks them not updateable. */
  writableOnCreate: Set<string>;
}

/** Looks an object up by its mapping name; undefined when the subscription does not have it. */
export function marketoObject(schemas: MarketoSchemas, name: MarketoObjectName): MarketoObjectSchema | undefined {
  if (name === 'lead') return { name, fields: byName(schemas.lead.fields), writableOnCreate: new Set() };
  const meta = name.startsWith('customObject:')
    ? schemas.customObjects[name.slice('customObject:'.length)]
    : schemas[name as 'company' | 'opportunity' | 'opportunityRole' | 'salesPerson'];
  if (!meta) return undefined;
  return { name, fields: byName(meta.fields), writableOnCreate: new Set(meta.dedupeFields) };
}

function byName(fields: readonly MarketoField[]): Map<string, MarketoField> {
  return new Map(fields.map((f) => [f.name, f]));
}
