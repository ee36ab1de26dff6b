/**
 * Describe results of a typical Marketo subscription (marketo-api.md §5) as plain data, and
 * synthetic leads. Shared by the CRM benchmark and the mapping tests.
 */
import type { CrmDescribe } from '../src/crm/connector.js';
import type { MappingConfig } from '../src/mapping/mapping-config.js';
import { MarketoSchemas, type MarketoDataType, type MarketoField } from '../src/mapping/marketo-schema.js';
import { suggestMapping } from '../src/mapping/suggest.js';

function f(name: string, dataType: MarketoDataType, updateable = true, length?: number): MarketoField {
  const field: MarketoField = { name, displayName: name, dataType, updateable, crmManaged: false };
  if (length) field.length = length;
  else if (dataType === 'string' || dataType === 'email' || dataType === 'phone' || dataType === 'url') field.length = 255;
  return field;
}

const LEAD_FIELDS: MarketoField[] = [
  f('id', 'integer', false), f('createdAt', 'datetime', false), f('updatedAt', 'datetime', false),
  f('email', 'email'), f('firstName', 'string'), f('lastName', 'string'), f('middleName', 'string'), f('salutation', 'string'),
  f('phone', 'phone'), f('mobilePhone', 'phone'), f('fax', 'phone'), f('title', 'string'), f('department', 'string'),
  f('company', 'string'), f('industry', 'string'), f('website', 'url'), f('annualRevenue', 'currency'), f('numberOfEmployees', 'integer'),
  f('leadSource', 'string'), f('leadStatus', 'string'), f('rating', 'string'), f('leadScore', 'integer'), f('relativeScore', 'score'),
  f('address', 'text'), f('city', 'string'), f('state', 'string'), f('postalCode', 'string'), f('country', 'string'),
  f('billingStreet', 'text'), f('billingCity', 'string'), f('billingState', 'string'), f('billingPostalCode', 'string'), f('billingCountry', 'string'),
  f('doNotCall', 'boolean'), f('unsubscribed', 'boolean'), f('emailInvalid', 'boolean'), f('dateOfBirth', 'date'),
  f('acquisitionProgramId', 'reference'), f('acquisitionDate', 'datetime'), f('externalCompanyId', 'string', true, 100),
  f('externalSalesPersonId', 'string'), f('mainPhone', 'phone'), f('sicCode', 'string', true, 40), f('leadRole', 'string'),
  f('crmId', 'string', true, 64), f('favoriteColor', 'string', true, 40), f('discountRate', 'percent'), f('priority', 'integer'),
  f('engagementFormula', 'formula', false),
];

export function benchMarketoSchemas(): MarketoSchemas {
  return MarketoSchemas.parse({
    lead: {
      name: 'API Lead',
      searchableFields: [['email'], ['id'], ['cookies'], ['crmId']],
      fields: LEAD_FIELDS,
    },
    company: {
      name: 'Company', idField: 'id', dedupeFields: ['externalCompanyId'], searchableFields: [['externalCompanyId'], ['id'], ['company']],
      fields: [
        f('createdAt', 'datetime', false), f('externalCompanyId', 'string', false, 100), f('id', 'integer', false), f('updatedAt', 'datetime', false),
        f('company', 'string'), f('website', 'url'), f('industry', 'string'), f('annualRevenue', 'currency'), f('numberOfEmployees', 'integer'),
        f('mainPhone', 'phone'), f('billingStreet', 'text'), f('billingCity', 'string'), f('billingState', 'string'), f('billingPostalCode', 'string'),
        f('billingCountry', 'string'), f('sicCode', 'string', true, 40), f('externalSalesPersonId', 'string'),
      ],
    },
    opportunity: {
      name: 'opportunity', displayName: 'Opportunity', idField: 'marketoGUID', dedupeFields: ['externalOpportunityId'],
      searchableFields: [['externalOpportunityId'], ['marketoGUID']],
      fields: [
        f('marketoGUID', 'string', false, 36), f('createdAt', 'datetime', false), f('updatedAt', 'datetime', false),
        f('externalOpportunityId', 'string', false, 50), f('name', 'string'), f('description', 'text'), f('amount', 'currency'),
        f('probability', 'percent'), f('expectedRevenue', 'currency'), f('isClosed', 'boolean'), f('isWon', 'boolean'), f('stage', 'string'),
        f('type', 'string'), f('leadSource', 'string'), f('nextStep', 'string'), f('closeDate', 'date'), f('externalCreatedDate', 'datetime'),
        f('externalCompanyId', 'string', true, 100), f('externalSalesPersonId', 'string'),
      ],
    },
    opportunityRole: {
      name: 'opportunityRole', displayName: 'Opportunity Role', idField: 'marketoGUID', dedupeFields: ['externalOpportunityId', 'leadId', 'role'],
      searchableFields: [['externalOpportunityId', 'leadId', 'role'], ['marketoGUID'], ['leadId'], ['externalOpportunityId']],
      fields: [
        f('marketoGUID', 'string', false, 36), f('createdAt', 'datetime', false), f('updatedAt', 'datetime', false),
        f('externalOpportunityId', 'string', false, 50), f('leadId', 'integer', false), f('role', 'string', false, 50),
        f('isPrimary', 'boolean'), f('externalCreatedDate', 'datetime'),
      ],
    },
    salesPerson: {
      name: 'SalesPerson', idField: 'id', dedupeFields: ['externalSalesPersonId'], searchableFields: [['email'], ['id'], ['externalSalesPersonId']],
      fields: [
        f('id', 'integer', false), f('createdAt', 'datetime', false), f('updatedAt', 'datetime', false), f('email', 'email'),
        f('externalSalesPersonId', 'string', false), f('firstName', 'string'), f('lastName', 'string'), f('title', 'string'), f('phone', 'phone'),
      ],
    },
    customObjects: {
      car_c: {
        name: 'car_c', idField: 'marketoGUID', dedupeFields: ['vin'], searchableFields: [['vin'], ['marketoGUID']],
        fields: [f('marketoGUID', 'string', false, 36), f('vin', 'string', false, 17), f('model', 'string'), f('price', 'currency'), f('purchased', 'date')],
        relationships: [{ field: 'leadId', type: 'parent', relatedTo: { name: 'Lead', field: 'id' } }],
      },
    },
  });
}

export function benchMapping(crm?: CrmDescribe): MappingConfig {
  if (!crm) throw new Error('benchMapping needs the CRM describe');
  return suggestMapping(benchMarketoSchemas(), crm);
}

const FIRST = ['Ann', 'Bob', 'Chen', 'Dana', 'Eli', 'Fatima', 'Goran', 'Hiro', 'Ines', 'Jonas'];
const LAST = ['Smith', 'Okafor', 'Müller', 'García', 'Nguyen', 'Kowalski', 'Rossi', 'Haddad', 'Tanaka', 'Silva'];
const CITIES = ['Paris', 'Lagos', 'Berlin', 'Lima', 'Osaka', 'Austin', 'Kraków', 'São Paulo'];

/** A Marketo lead as REST returns it: JSON types, per-second UTC datetimes. */
export function syntheticMarketoLead(id: number): Record<string, unknown> {
  const first = FIRST[id % FIRST.length]!;
  const last = LAST[(id * 7) % LAST.length]!;
  const day = String((id % 28) + 1).padStart(2, '0');
  return {
    id,
    email: `${first.toLowerCase()}.${id}@example${id % 97}.com`,
    firstName: first,
    lastName: last,
    title: id % 3 === 0 ? 'Director' : 'Engineer',
    company: `Company ${id % 5000}`,
    phone: `+1-555-${String(id % 10_000).padStart(4, '0')}`,
    city: CITIES[id % CITIES.length],
    country: 'FR',
    leadSource: id % 2 ? 'Webinar' : 'Website',
    leadScore: id % 100,
    annualRevenue: (id % 1000) * 1000.5,
    numberOfEmployees: id % 500,
    unsubscribed: id % 11 === 0,
    acquisitionProgramId: 1000 + (id % 40),
    acquisitionDate: `2025-03-${day}T10:${String(id % 60).padStart(2, '0')}:00Z`,
  };
}
