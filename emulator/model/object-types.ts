import { z } from 'zod';
import { FieldDef } from './fields.js';

/** The generic (non-lead) object kinds: all share query/sync/delete/describe (marketo-api.md §7). */
export type ObjectKind = 'company' | 'opportunity' | 'opportunityRole' | 'salesperson' | 'custom';

export const Relationship = z.object({
  field: z.string(),
  type: z.enum(['parent', 'child']),
  relatedTo: z.object({ name: z.string(), field: z.string() }),
});
export type Relationship = z.infer<typeof Relationship>;

/** Input accepted for a new custom object type (admin endpoint and `Subscription.addCustomObjectType`). */
export const CustomObjectTypeInput = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'custom object apiName must be an identifier'),
  displayName: z.string().min(1),
  pluralName: z.string().optional(),
  description: z.string().default(''),
  dedupeFields: z.array(z.string()).min(1),
  fields: z.array(FieldDef).min(1),
  /** Link to leads: the custom object field holding the lead key, and which lead field it names. */
  leadLink: z.object({ field: z.string(), leadField: z.string().default('id') }).optional(),
});
export type CustomObjectTypeInput = z.input<typeof CustomObjectTypeInput>;

export interface ObjectType {
  kind: ObjectKind;
  /** API name used in paths (`car_c`) and in describe `name`. */
  name: string;
  displayName: string;
  pluralName?: string;
  description: string;
  idField: 'id' | 'marketoGUID';
  dedupeFields: string[];
  searchableFields: string[][];
  fields: FieldDef[];
  relationships: Relationship[];
  /** Epoch seconds. */
  createdAt: number;
  updatedAt: number;
  /** Custom objects linked to leads: "Add to {displayName}" activity type id. */
  addActivityTypeId?: number;
}

const f = (name: string, displayName: string, dataType: FieldDef['dataType'], opts: { length?: number; ro?: boolean } = {}): FieldDef =>
  FieldDef.parse({ name, displayName, dataType, length: opts.length, updateable: !opts.ro });

export function builtInObjectTypes(at: number): ObjectType[] {
  const base = { description: '', relationships: [] as Relationship[], createdAt: at, updatedAt: at };
  return [
    {
      ...base, kind: 'company', name: 'Company', displayName: 'Company', idField: 'id',
      dedupeFields: ['externalCompanyId'], searchableFields: [['externalCompanyId'], ['id'], ['company']],
      fields: [
        f('createdAt', 'Created At', 'datetime', { ro: true }), f('externalCompanyId', 'External Company Id', 'string', { length: 100, ro: true }),
        f('id', 'Id', 'integer', { ro: true }), f('updatedAt', 'Updated At', 'datetime', { ro: true }),
        f('annualRevenue', 'Annual Revenue', 'currency'), f('billingCity', 'Billing City', 'string', { length: 255 }),
        f('billingCountry', 'Billing Country', 'string', { length: 255 }), f('billingPostalCode', 'Billing Postal Code', 'string', { length: 255 }),
        f('billingState', 'Billing State', 'string', { length: 255 }), f('billingStreet', 'Billing Address', 'text'),
        f('company', 'Company Name', 'string', { length: 255 }), f('industry', 'Industry', 'string', { length: 255 }),
        f('mainPhone', 'Main Phone', 'phone', { length: 255 }), f('numberOfEmployees', 'Num Employees', 'integer'),
        f('sicCode', 'SIC Code', 'string', { length: 40 }), f('site', 'Site', 'string', { length: 255 }),
        f('website', 'Website', 'url', { length: 255 }),
      ],
    },
    {
      ...base, kind: 'opportunity', name: 'opportunity', displayName: 'Opportunity', idField: 'marketoGUID',
      dedupeFields: ['externalOpportunityId'], searchableFields: [['externalOpportunityId'], ['marketoGUID']],
      fields: [
        f('marketoGUID', 'Marketo GUID', 'string', { length: 36, ro: true }), f('createdAt', 'Created At', 'datetime', { ro: true }),
        f('updatedAt', 'Updated At', 'datetime', { ro: true }), f('externalOpportunityId', 'External Opportunity Id', 'string', { length: 50, ro: true }),
        f('name', 'Name', 'string', { length: 255 }), f('description', 'Description', 'string', { length: 2000 }),
        f('amount', 'Amount', 'currency'), f('expectedRevenue', 'Expected Revenue', 'currency'),
        f('closeDate', 'Close Date', 'date'), f('isClosed', 'Closed', 'boolean'), f('isWon', 'Won', 'boolean'),
        f('stage', 'Stage', 'string', { length: 255 }), f('type', 'Opportunity Type', 'string', { length: 255 }),
        f('source', 'Opportunity Source', 'string', { length: 255 }), f('probability', 'Probability', 'integer'),
        f('externalCompanyId', 'External Company Id', 'string', { length: 100 }),
        f('externalSalesPersonId', 'External Sales Person Id', 'string', { length: 100 }),
      ],
    },
    {
      ...base, kind: 'opportunityRole', name: 'opportunityRole', displayName: 'Opportunity Role', idField: 'marketoGUID',
      dedupeFields: ['externalOpportunityId', 'leadId', 'role'],
      searchableFields: [['externalOpportunityId', 'leadId', 'role'], ['marketoGUID'], ['leadId'], ['externalOpportunityId']],
      fields: [
        f('marketoGUID', 'Marketo GUID', 'string', { length: 36, ro: true }), f('createdAt', 'Created At', 'datetime', { ro: true }),
        f('updatedAt', 'Updated At', 'datetime', { ro: true }), f('externalOpportunityId', 'External Opportunity Id', 'string', { length: 50, ro: true }),
        f('leadId', 'Lead Id', 'integer', { ro: true }), f('role', 'Role', 'string', { length: 50, ro: true }),
        f('isPrimary', 'Is Primary', 'boolean'), f('externalCreatedDate', 'External Created Date', 'datetime'),
      ],
    },
    {
      ...base, kind: 'salesperson', name: 'SalesPerson', displayName: 'Sales Person', idField: 'id',
      dedupeFields: ['externalSalesPersonId'], searchableFields: [['email'], ['id'], ['externalSalesPersonId']],
      fields: [
        f('id', 'Marketo Id', 'integer', { ro: true }), f('createdAt', 'Created At', 'datetime', { ro: true }),
        f('updatedAt', 'Updated At', 'datetime', { ro: true }), f('email', 'Email', 'email', { length: 255 }),
        f('externalSalesPersonId', 'External Sales Person Id', 'string', { length: 255, ro: true }),
        f('firstName', 'First Name', 'string', { length: 255 }), f('lastName', 'Last Name', 'string', { length: 255 }),
        f('phone', 'Phone', 'phone', { length: 255 }), f('title', 'Title', 'string', { length: 255 }),
        f('mobilePhone', 'Mobile Phone', 'phone', { length: 255 }), f('fax', 'Fax', 'phone', { length: 255 }),
      ],
    },
  ];
}

/** Builds a custom object type; system fields (marketoGUID, createdAt, updatedAt) are added. */
export function customObjectType(input: z.output<typeof CustomObjectTypeInput>, at: number, addActivityTypeId: number | undefined): ObjectType {
  const names = new Set(input.fields.map((x) => x.name));
  for (const d of input.dedupeFields) if (!names.has(d)) throw new Error(`dedupe field '${d}' is not among the fields of ${input.name}`);
  if (input.leadLink && !names.has(input.leadLink.field)) throw new Error(`leadLink.field '${input.leadLink.field}' is not among the fields of ${input.name}`);
  const system = [f('marketoGUID', 'Marketo GUID', 'string', { length: 36, ro: true }), f('createdAt', 'Created At', 'datetime', { ro: true }), f('updatedAt', 'Updated At', 'datetime', { ro: true })];
  const fields = [...system, ...input.fields.filter((x) => !['marketoGUID', 'createdAt', 'updatedAt'].includes(x.name))];
  const searchable = [input.dedupeFields, ['marketoGUID']];
  if (input.leadLink) searchable.push([input.leadLink.field]);
  return {
    kind: 'custom', name: input.name, displayName: input.displayName, pluralName: input.pluralName ?? `${input.displayName}s`,
    description: input.description, idField: 'marketoGUID', dedupeFields: input.dedupeFields, searchableFields: searchable,
    fields, createdAt: at, updatedAt: at, addActivityTypeId,
    relationships: input.leadLink ? [{ field: input.leadLink.field, type: 'parent', relatedTo: { name: 'Lead', field: input.leadLink.leadField } }] : [],
  };
}
