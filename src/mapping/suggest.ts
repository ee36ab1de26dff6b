import type { CrmDescribe, CrmEntityDescribe } from '../crm/connector.js';
import { MARKETO_ONLY_ENTITIES, isSyncKeyField } from '../crm/marketo-keys.js';
import type { Direction, EntityMapping, FieldMapping, MappingConfig } from './mapping-config.js';
import { marketoObject, type MarketoObjectName, type MarketoObjectSchema, type MarketoSchemas } from './marketo-schema.js';
import { CRM_FAMILY, MARKETO_FAMILY, convertible, crmToMarketoConvertible } from './types.js';
import { marketoLength } from './validate.js';

type Pair = [marketo: string, crm: string, direction?: Direction];

const PERSON: Pair[] = [
  ['email', 'email'], ['firstName', 'first_name'], ['lastName', 'last_name'], ['phone', 'phone'], ['mobilePhone', 'mobile_phone'],
  ['title', 'title'], ['leadSource', 'lead_source'], ['doNotCall', 'do_not_call'], ['unsubscribed', 'unsubscribed'],
  ['leadScore', 'lead_score'], ['acquisitionProgramId', 'acquisition_program_id'], ['acquisitionDate', 'acquisition_date'],
  ['externalSalesPersonId', 'owner_id'],
];

/** Known field pairs per (Marketo object, CRM entity), from the seed's special fields and common CRM naming. */
const KNOWN: Record<string, Pair[]> = {
  'lead|lead': [
    ['id', 'marketo_lead_id', 'toCrm'], ...PERSON, ['company', 'company'], ['industry', 'industry'], ['website', 'website'],
    ['annualRevenue', 'annual_revenue'], ['numberOfEmployees', 'number_of_employees'], ['leadStatus', 'lead_status'], ['rating', 'rating'],
    ['address', 'street'], ['city', 'city'], ['state', 'state'], ['postalCode', 'postal_code'], ['country', 'country'],
  ],
  'lead|contact': [
    ['id', 'marketo_lead_id', 'toCrm'], ...PERSON, ['externalCompanyId', 'account_id'], ['department', 'department'], ['dateOfBirth', 'birthdate'],
    ['address', 'mailing_street'], ['city', 'mailing_city'], ['state', 'mailing_state'], ['postalCode', 'mailing_postal_code'], ['country', 'mailing_country'],
  ],
  'company|account': [
    ['externalCompanyId', 'id', 'toMarketo'], ['company', 'name'], ['website', 'website'], ['industry', 'industry'], ['annualRevenue', 'annual_revenue'],
    ['numberOfEmployees', 'number_of_employees'], ['mainPhone', 'phone'], ['billingStreet', 'billing_street'], ['billingCity', 'billing_city'],
    ['billingState', 'billing_state'], ['billingPostalCode', 'billing_postal_code'], ['billingCountry', 'billing_country'], ['sicCode', 'sic_code'],
    ['externalSalesPersonId', 'owner_id'],
  ],
  'opportunity|opportunity': [
    ['externalOpportunityId', 'id', 'toMarketo'], ['name', 'name'], ['description', 'description'], ['amount', 'amount'],
    ['probability', 'probability'], ['isClosed', 'is_closed'], ['isWon', 'is_won'], ['stage', 'stage'], ['type', 'type'],
    ['leadSource', 'lead_source'], ['nextStep', 'next_step'], ['closeDate', 'close_date'], ['externalCreatedDate', 'created_date', 'toMarketo'],
    ['externalCompanyId', 'account_id'], ['externalSalesPersonId', 'owner_id'],
  ],
  'opportunityRole|opportunityRole': [
    ['externalOpportunityId', 'opportunity_id', 'toMarketo'], ['leadId', 'contact_id', 'toMarketo'], ['role', 'role', 'toMarketo'],
    ['isPrimary', 'is_primary'], ['externalCreatedDate', 'created_at', 'toMarketo'],
  ],
  'salesPerson|user': [
    ['externalSalesPersonId', 'id', 'toMarketo'], ['email', 'email'], ['firstName', 'first_name'], ['lastName', 'last_name'],
    ['title', 'title'], ['phone', 'phone'],
  ],
};

const DEFAULT_ENTITIES: [MarketoObjectName, string][] = [
  ['lead', 'lead'], ['lead', 'contact'], ['company', 'account'], ['opportunity', 'opportunity'],
  ['opportunityRole', 'opportunityRole'], ['salesPerson', 'user'],
];

export interface SuggestOptions {
  /** Marketo lead field that holds the CRM id (default: the first of crmId, externalPersonId, crmLeadId present). */
  leadKeyField?: string;
  /** Pairs a Marketo custom object with a CRM entity, e.g. { car_c: 'custom:car' }. */
  customObjects?: Record<string, string>;
}

/**
 * A starting mapping from both Describe results: known pairs first, then fields whose names
 * match once case and separators are ignored (`favoriteColor` ~ `favorite_color`). Each pair
 * gets the widest direction both sides allow and is dropped if the types cannot convert.
 */
export function suggestMapping(schemas: MarketoSchemas, crm: CrmDescribe, options: SuggestOptions = {}): MappingConfig {
  const leadFieldNames = new Set(schemas.lead.fields.map((f) => f.name));
  const leadKey = options.leadKeyField ?? ['crmId', 'externalPersonId', 'crmLeadId'].find((n) => leadFieldNames.has(n)) ?? 'crmId';
  const pairs: [MarketoObjectName, string][] = [...DEFAULT_ENTITIES];
  // Programs, lists and activities come from Marketo one way: they are not two-way mapping targets.
  for (const [co, entity] of Object.entries(options.customObjects ?? {})) if (!MARKETO_ONLY_ENTITIES.has(entity)) pairs.push([`customObject:${co}` as MarketoObjectName, entity]);

  const entities: EntityMapping[] = [];
  for (const [mName, cName] of pairs) {
    const mObject = marketoObject(schemas, mName);
    const cEntity = crm.entities.find((e) => e.name === cName);
    if (!mObject || !cEntity) continue;
    const known = [...(KNOWN[`${mName}|${cName}`] ?? [])];
    if (mName === 'lead') known.push([leadKey, 'id', 'toMarketo']);
    const fields = suggestFields(mObject, cEntity, known);
    const derived: EntityMapping['derived'] = [];
    if (mName === 'opportunity') {
      const has = (n: string) => fields.some((f) => f.marketo === n && f.direction !== 'toCrm');
      if (mObject.fields.get('expectedRevenue')?.updateable && has('amount') && has('probability')) derived.push({ marketo: 'expectedRevenue', rule: 'expectedRevenue', enabled: true });
    }
    entities.push({ marketo: mName, crm: cName, enabled: true, fields, derived });
  }
  return {
    version: 1,
    leadKey: { marketoField: leadKey, crmMarketoIdField: 'marketo_lead_id' },
    leadRouting: { by: 'externalCompanyId' },
    stages: { closedWon: 'Closed Won', closedLost: 'Closed Lost' },
    entities,
  };
}

function suggestFields(mObject: MarketoObjectSchema, cEntity: CrmEntityDescribe, known: Pair[]): FieldMapping[] {
  const out: FieldMapping[] = [];
  const usedM = new Set<string>();
  const usedC = new Set<string>();
  const add = (m: string, c: string, wanted: Direction = 'both') => {
    if (usedM.has(m) || usedC.has(c)) return;
    const field = fieldFor(mObject, cEntity, m, c, wanted);
    if (!field) return;
    out.push(field);
    usedM.add(m);
    usedC.add(c);
  };
  for (const [m, c, d] of known) add(m, c, d);
  const byKey = new Map(cEntity.fields.map((f) => [normalize(f.name), f.name]));
  for (const m of mObject.fields.keys()) {
    const c = byKey.get(normalize(m));
    // Key columns (externalCompanyId ~ external_company_id, marketoGUID ~ marketo_guid) are the sync's bookkeeping, not data.
    if (c && c !== 'id' && !isSyncKeyField(cEntity.name, c)) add(m, c);
  }
  return out;
}

function fieldFor(mObject: MarketoObjectSchema, cEntity: CrmEntityDescribe, mName: string, cName: string, wanted: Direction): FieldMapping | undefined {
  const m = mObject.fields.get(mName);
  const c = cEntity.fields.find((f) => f.name === cName);
  if (!m || !c || m.isHidden) return undefined;
  const canCrm = wanted !== 'toMarketo' && c.updateable && convertible(MARKETO_FAMILY[m.dataType], CRM_FAMILY[c.type]);
  const canMarketo = wanted !== 'toCrm' && m.dataType !== 'formula' && (m.updateable || mObject.writableOnCreate.has(m.name)) && crmToMarketoConvertible(c.type, m.dataType);
  const direction: Direction | undefined = canCrm && canMarketo ? 'both' : canCrm ? 'toCrm' : canMarketo ? 'toMarketo' : undefined;
  if (!direction) return undefined;
  // Offer truncation where only the lengths differ; validation would otherwise refuse the pair.
  const mLen = marketoLength(m);
  const textBoth = MARKETO_FAMILY[m.dataType] === 'text' && CRM_FAMILY[c.type] === 'text';
  const truncate = textBoth && (c.length === undefined ? direction !== 'toCrm' : mLen === undefined || mLen > c.length || (direction !== 'toCrm' && c.length > mLen));
  return { marketo: mName, crm: cName, direction, enabled: true, truncate };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}
