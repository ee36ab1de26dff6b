import { z } from 'zod';

/** Field data types seen in Marketo describe results (marketo-api.md §5.6). */
export const DataType = z.enum([
  'string', 'text', 'email', 'phone', 'url', 'integer', 'float', 'currency', 'percent', 'score',
  'boolean', 'date', 'datetime', 'reference', 'formula',
]);
export type DataType = z.infer<typeof DataType>;

export const FieldDef = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'field name must be an identifier'),
  displayName: z.string().min(1),
  dataType: DataType,
  length: z.number().int().positive().optional(),
  updateable: z.boolean().default(true),
  crmManaged: z.boolean().default(false),
  /** Hidden fields vanish from describe and cannot be read or written (admin "hide field"). */
  hidden: z.boolean().default(false),
  /** Lead fields only: usable as filterType/lookupField (describe2 searchableFields). */
  searchable: z.boolean().default(false),
  /** Stable numeric id, shown in describe (v1) and lead-change activities. */
  id: z.number().int().optional(),
  description: z.string().optional(),
  /** Added at run time (admin endpoint or the field schema API), not a standard field. */
  custom: z.boolean().default(false),
});
export type FieldDef = z.infer<typeof FieldDef>;
export type FieldInput = z.input<typeof FieldDef>;

type Std = [name: string, displayName: string, dataType: DataType, length?: number, flags?: 'ro' | 'search' | 'ro-search'];

/** Standard lead fields (REST names, marketo-api.md §5.7) with their describe metadata. */
const STANDARD_LEAD_FIELDS: Std[] = [
  ['id', 'Id', 'integer', undefined, 'ro-search'],
  ['email', 'Email Address', 'email', 255, 'search'],
  ['firstName', 'First Name', 'string', 255],
  ['middleName', 'Middle Name', 'string', 255],
  ['lastName', 'Last Name', 'string', 255],
  ['salutation', 'Salutation', 'string', 255],
  ['title', 'Job Title', 'string', 255],
  ['company', 'Company Name', 'string', 255],
  ['site', 'Site', 'string', 255],
  ['department', 'Department', 'string', 255],
  ['industry', 'Industry', 'string', 255],
  ['address', 'Address', 'text'],
  ['city', 'City', 'string', 255],
  ['state', 'State', 'string', 255],
  ['country', 'Country', 'string', 255],
  ['postalCode', 'Postal Code', 'string', 255],
  ['billingStreet', 'Billing Address', 'text'],
  ['billingCity', 'Billing City', 'string', 255],
  ['billingState', 'Billing State', 'string', 255],
  ['billingCountry', 'Billing Country', 'string', 255],
  ['billingPostalCode', 'Billing Postal Code', 'string', 255],
  ['phone', 'Phone Number', 'phone', 255],
  ['mobilePhone', 'Mobile Phone Number', 'phone', 255],
  ['mainPhone', 'Main Phone', 'phone', 255],
  ['fax', 'Fax Number', 'phone', 255],
  ['website', 'Website', 'url', 255],
  ['annualRevenue', 'Annual Revenue', 'currency'],
  ['numberOfEmployees', 'Num Employees', 'integer'],
  ['sicCode', 'SIC Code', 'string', 40],
  ['rating', 'Lead Rating', 'string', 255],
  ['dateOfBirth', 'Date of Birth', 'date'],
  ['doNotCall', 'Do Not Call', 'boolean'],
  ['doNotCallReason', 'Do Not Call Reason', 'string', 512],
  ['unsubscribed', 'Unsubscribed', 'boolean'],
  ['unsubscribedReason', 'Unsubscribed Reason', 'text'],
  ['emailInvalid', 'Email Invalid', 'boolean'],
  ['emailInvalidCause', 'Email Invalid Cause', 'string', 255],
  ['leadRole', 'Role', 'string', 50],
  ['leadScore', 'Lead Score', 'integer'],
  ['leadSource', 'Lead Source', 'string', 255],
  ['leadStatus', 'Lead Status', 'string', 255],
  ['priority', 'Priority', 'integer'],
  ['relativeScore', 'Relative Score', 'integer'],
  ['urgency', 'Urgency', 'float'],
  ['anonymousIP', 'Anonymous IP', 'string', 255],
  ['inferredCompany', 'Inferred Company', 'string', 255, 'ro'],
  ['inferredCountry', 'Inferred Country', 'string', 255, 'ro'],
  ['inferredCity', 'Inferred City', 'string', 255, 'ro'],
  ['isAnonymous', 'Is Anonymous', 'boolean', undefined, 'ro'],
  ['acquisitionProgramId', 'Acquisition Program', 'reference'],
  ['externalCompanyId', 'External Company Id', 'string', 100],
  ['externalSalesPersonId', 'External Sales Person Id', 'string', 100],
  ['cookies', 'Cookies', 'string', 255, 'search'],
  ['leadPartitionId', 'Lead Partition Id', 'integer', undefined, 'ro-search'],
  ['twitterId', 'Twitter Id', 'string', 255, 'search'],
  ['facebookId', 'Facebook Id', 'string', 255, 'search'],
  ['linkedInId', 'LinkedIn Id', 'string', 255, 'search'],
  ['sfdcAccountId', 'SFDC Account Id', 'string', 18, 'search'],
  ['sfdcContactId', 'SFDC Contact Id', 'string', 18, 'search'],
  ['sfdcLeadId', 'SFDC Lead Id', 'string', 18, 'search'],
  ['sfdcLeadOwnerId', 'SFDC Lead Owner Id', 'string', 18, 'search'],
  ['sfdcOpptyId', 'SFDC Oppty Id', 'string', 18, 'search'],
  ['createdAt', 'Created At', 'datetime', undefined, 'ro'],
  ['updatedAt', 'Updated At', 'datetime', undefined, 'ro'],
];

export function standardLeadFields(): FieldDef[] {
  return STANDARD_LEAD_FIELDS.map(([name, displayName, dataType, length, flags], i) =>
    FieldDef.parse({
      name, displayName, dataType, length, id: i + 1,
      updateable: !(flags === 'ro' || flags === 'ro-search'),
      searchable: flags === 'search' || flags === 'ro-search',
    }),
  );
}

/** Field types Marketo accepts as custom lookup/filter keys (marketo-api.md §6.2). */
export function isSearchableType(t: DataType): boolean {
  return t === 'string' || t === 'email' || t === 'integer';
}

const EMAIL = /^[\x21-\x7e]+@[\x21-\x7e]+\.[\x21-\x7e]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export type Normalized = { ok: true; value: string | number | boolean | null } | { ok: false };

/**
 * Validates and normalises one written value for its field type, as Sync Leads does: wrong types
 * are skipped with 1003, null/empty strings clear the field, datetimes are stored per second.
 */
export function normalizeValue(dataType: DataType, value: unknown): Normalized {
  if (value === null || value === undefined || value === '') return { ok: true, value: null };
  switch (dataType) {
    case 'integer':
    case 'reference': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'float':
    case 'currency':
    case 'percent':
    case 'score': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 'true' || value === '1' || value === 1) return { ok: true, value: true };
      if (value === 'false' || value === '0' || value === 0) return { ok: true, value: false };
      return { ok: false };
    case 'email':
      return typeof value === 'string' && EMAIL.test(value) ? { ok: true, value } : { ok: false };
    case 'date': {
      if (typeof value !== 'string') return { ok: false };
      const d = value.length > 10 ? value.slice(0, 10) : value;
      return DATE.test(d) && !Number.isNaN(Date.parse(d)) ? { ok: true, value: d } : { ok: false };
    }
    case 'datetime': {
      if (typeof value !== 'string') return { ok: false };
      const ms = Date.parse(value);
      if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(value)) return { ok: false };
      return { ok: true, value: new Date(ms).toISOString().slice(0, 19) + 'Z' };
    }
    case 'formula':
      return { ok: false };
    default:
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false };
  }
}

/** The legacy describe (v1) item for a field (marketo-api.md §5.1). */
export function describeV1(f: FieldDef): Record<string, unknown> {
  const item: Record<string, unknown> = { id: f.id, displayName: f.displayName, dataType: f.dataType };
  if (f.length !== undefined) item.length = f.length;
  item.rest = { name: f.name, readOnly: !f.updateable };
  item.soap = { name: f.name.charAt(0).toUpperCase() + f.name.slice(1), readOnly: !f.updateable };
  return item;
}

/** The describe2 / ObjectMetaData field item. */
export function describeField(f: FieldDef): Record<string, unknown> {
  const item: Record<string, unknown> = { name: f.name, displayName: f.displayName, dataType: f.dataType };
  if (f.length !== undefined) item.length = f.length;
  item.updateable = f.updateable;
  item.crmManaged = f.crmManaged;
  return item;
}
