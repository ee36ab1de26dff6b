import type { CrmFieldType } from '../crm/connector.js';
import type { MarketoDataType } from './marketo-schema.js';

/**
 * Value families: what a value *is*, independent of which system's type name carries it.
 * Compatibility and transforms are decided per family, lengths and formats per concrete type.
 */
export type Family = 'text' | 'integer' | 'decimal' | 'boolean' | 'date' | 'datetime' | 'reference';

export const MARKETO_FAMILY: Record<MarketoDataType, Family> = {
  string: 'text',
  text: 'text',
  email: 'text',
  phone: 'text',
  url: 'text',
  picklist: 'text',
  formula: 'text',
  integer: 'integer',
  score: 'integer',
  float: 'decimal',
  currency: 'decimal',
  percent: 'decimal',
  boolean: 'boolean',
  date: 'date',
  datetime: 'datetime',
  reference: 'reference',
};

export const CRM_FAMILY: Record<CrmFieldType, Family> = {
  string: 'text',
  text: 'text',
  email: 'text',
  phone: 'text',
  url: 'text',
  integer: 'integer',
  decimal: 'decimal',
  currency: 'decimal',
  percent: 'decimal',
  boolean: 'boolean',
  date: 'date',
  datetime: 'datetime',
  reference: 'reference',
};

/** Marketo `text` (textarea) holds about 30,000 bytes when Describe gives no length. */
export const MARKETO_TEXT_LENGTH = 30_000;
export const MARKETO_STRING_LENGTH = 255;

/** Can every value of `from` be written as a `to` without losing meaning? */
export function convertible(from: Family, to: Family): boolean {
  if (from === to) return true;
  switch (to) {
    case 'text':
      return true;
    case 'reference':
      return from === 'integer' || from === 'text';
    case 'integer':
      return from === 'reference';
    case 'decimal':
      return from === 'integer';
    case 'datetime':
      return from === 'date';
    default:
      return false;
  }
}

/**
 * Can a CRM field be written to a Marketo field? By family, plus one case real subscriptions
 * have: Marketo keeps opportunity `probability` as an integer percent while CRMs keep a decimal
 * percent. Whole percentages convert without loss; a fractional one fails that record alone.
 */
export function crmToMarketoConvertible(from: CrmFieldType, to: MarketoDataType): boolean {
  return convertible(CRM_FAMILY[from], MARKETO_FAMILY[to]) || (from === 'percent' && (to === 'integer' || to === 'score'));
}

/** The CRM column type for a Marketo field provisioned in the CRM. */
export function crmTypeForMarketo(type: MarketoDataType): CrmFieldType {
  switch (type) {
    case 'string':
    case 'picklist':
      return 'string';
    case 'text':
    case 'formula':
      return 'text';
    case 'email':
      return 'email';
    case 'phone':
      return 'phone';
    case 'url':
      return 'url';
    case 'integer':
    case 'score':
      return 'integer';
    case 'float':
      return 'decimal';
    case 'currency':
      return 'currency';
    case 'percent':
      return 'percent';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'reference':
      return 'string';
  }
}
