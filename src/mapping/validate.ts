import type { CrmDescribe, CrmEntityDescribe, CrmField } from '../crm/connector.js';
import type { EntityMapping, FieldMapping, MappingConfig } from './mapping-config.js';
import { marketoObject, type MarketoField, type MarketoObjectSchema, type MarketoSchemas } from './marketo-schema.js';
import { CRM_FAMILY, MARKETO_FAMILY, MARKETO_STRING_LENGTH, MARKETO_TEXT_LENGTH, convertible, crmToMarketoConvertible } from './types.js';

export interface ValidationReport {
  /** Problems that make the mapping unusable: it must not be saved or run. */
  errors: string[];
  /** Things that work but deserve attention (e.g. revenue attribution will be incomplete). */
  warnings: string[];
}

/**
 * Checks a mapping against the current Describe results of both systems. Every message names
 * the entity mapping and the field, and says what to change.
 */
export function validateMapping(config: MappingConfig, schemas: MarketoSchemas, crm: CrmDescribe): ValidationReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const crmEntities = new Map(crm.entities.map((e) => [e.name, e]));

  config.entities.forEach((entity, i) => {
    if (!entity.enabled) return;
    const where = `entities[${i}] (${entity.marketo} ⇄ ${entity.crm})`;
    const mObject = marketoObject(schemas, entity.marketo);
    const cEntity = crmEntities.get(entity.crm as CrmEntityDescribe['name']);
    if (!mObject) errors.push(`${where}: Marketo object '${entity.marketo}' is not in the Describe results`);
    if (!cEntity) errors.push(`${where}: CRM entity '${entity.crm}' does not exist`);
    if (!mObject || !cEntity) return;
    if (entity.marketo === 'lead' && entity.crm !== 'lead' && entity.crm !== 'contact') {
      errors.push(`${where}: Marketo leads map to the CRM record types 'lead' or 'contact', not '${entity.crm}'`);
    }
    entity.fields.forEach((field, j) => {
      if (field.enabled) errors.push(...checkField(`${where} fields[${j}]`, field, mObject, cEntity));
    });
    entity.derived.forEach((d, j) => {
      if (!d.enabled) return;
      const at = `${where} derived[${j}]`;
      const target = mObject.fields.get(d.marketo);
      if (!target) errors.push(`${at}: unknown Marketo ${entity.marketo} field '${d.marketo}'${didYouMean(d.marketo, mObject.fields.keys())}`);
      else if (!target.updateable) errors.push(`${at}: Marketo ${entity.marketo} field '${d.marketo}' is not updateable`);
      const needs = d.rule === 'expectedRevenue' ? ['amount', 'probability'] : ['isClosed', 'isWon'];
      for (const n of needs) {
        if (!entity.fields.some((f) => f.enabled && f.marketo === n && f.direction !== 'toCrm')) {
          errors.push(`${at}: rule ${d.rule} needs a CRM field mapped to Marketo '${n}' (direction both or toMarketo)`);
        }
      }
    });
  });

  checkLeadKeys(config, schemas, crmEntities, errors, warnings);
  warnings.push(...attributionWarnings(config));
  return { errors, warnings };
}

function checkField(at: string, field: FieldMapping, mObject: MarketoObjectSchema, cEntity: CrmEntityDescribe): string[] {
  const errors: string[] = [];
  const m = mObject.fields.get(field.marketo);
  const c = cEntity.fields.find((f) => f.name === field.crm);
  if (!m) errors.push(`${at}: unknown Marketo ${mObject.name} field '${field.marketo}'${didYouMean(field.marketo, mObject.fields.keys())}`);
  else if (m.isHidden) errors.push(`${at}: Marketo ${mObject.name} field '${field.marketo}' is hidden`);
  if (!c) errors.push(`${at}: unknown CRM ${cEntity.name} field '${field.crm}'${didYouMean(field.crm, cEntity.fields.map((f) => f.name))}`);
  if (!m || !c || m.isHidden) return errors;

  const toCrm = field.direction !== 'toMarketo';
  const toMarketo = field.direction !== 'toCrm';
  if (toCrm && !c.updateable) errors.push(`${at}: CRM ${cEntity.name} field '${c.name}' is not writable; use direction toMarketo`);
  if (toMarketo && m.dataType === 'formula') errors.push(`${at}: Marketo ${mObject.name} field '${m.name}' is a formula and cannot be written; use direction toCrm`);
  else if (toMarketo && !m.updateable && !mObject.writableOnCreate.has(m.name)) {
    errors.push(`${at}: Marketo ${mObject.name} field '${m.name}' is not updateable; use direction toCrm`);
  }
  if (toCrm) errors.push(...checkTypes(at, `Marketo '${m.name}' (${m.dataType})`, MARKETO_FAMILY[m.dataType], marketoLength(m), `CRM '${c.name}' (${c.type})`, CRM_FAMILY[c.type], crmLength(c), field));
  // A decimal percent into Marketo's integer probability: allowed, whole values convert (see types.ts).
  const percentToInteger = crmToMarketoConvertible(c.type, m.dataType) && !convertible(CRM_FAMILY[c.type], MARKETO_FAMILY[m.dataType]);
  if (toMarketo && !percentToInteger) errors.push(...checkTypes(at, `CRM '${c.name}' (${c.type})`, CRM_FAMILY[c.type], crmLength(c), `Marketo '${m.name}' (${m.dataType})`, MARKETO_FAMILY[m.dataType], marketoLength(m), field));
  if (field.valueMap && (MARKETO_FAMILY[m.dataType] !== 'text' || CRM_FAMILY[c.type] !== 'text')) {
    errors.push(`${at}: valueMap needs text fields on both sides ('${m.name}' is ${m.dataType}, '${c.name}' is ${c.type})`);
  }
  return errors;
}

function checkTypes(at: string, fromLabel: string, from: string, fromLength: number | undefined, toLabel: string, to: string, toLength: number | undefined, field: FieldMapping): string[] {
  if (!convertible(from as never, to as never)) return [`${at}: ${fromLabel} cannot be written to ${toLabel}: incompatible types`];
  if (to === 'text' && toLength !== undefined && !field.truncate) {
    const longest = from === 'text' ? fromLength : from === 'reference' ? (fromLength ?? 64) : 40;
    if (longest === undefined || longest > toLength) {
      return [`${at}: ${fromLabel} holds up to ${longest ?? 'unlimited'} characters but ${toLabel} only ${toLength}; set truncate: true to cut values`];
    }
  }
  return [];
}

export function marketoLength(f: MarketoField): number | undefined {
  if (f.length) return f.length;
  if (f.dataType === 'text') return MARKETO_TEXT_LENGTH;
  if (f.dataType === 'string') return MARKETO_STRING_LENGTH;
  return MARKETO_FAMILY[f.dataType] === 'text' ? MARKETO_STRING_LENGTH : undefined;
}

function crmLength(f: CrmField): number | undefined {
  return f.length;
}

function checkLeadKeys(config: MappingConfig, schemas: MarketoSchemas, crmEntities: Map<string, CrmEntityDescribe>, errors: string[], warnings: string[]): void {
  const leadFields = new Map(schemas.lead.fields.map((f) => [f.name, f]));
  const key = config.leadKey.marketoField;
  const keyField = leadFields.get(key);
  if (!keyField) {
    errors.push(`leadKey.marketoField: unknown Marketo lead field '${key}'${didYouMean(key, leadFields.keys())}; create a custom lead field to hold the CRM id`);
  } else {
    if (!keyField.updateable) errors.push(`leadKey.marketoField: Marketo lead field '${key}' is not updateable`);
    if (!['string', 'email', 'integer'].includes(keyField.dataType)) errors.push(`leadKey.marketoField: '${key}' is ${keyField.dataType}; a lookup field must be string, email or integer`);
    if (!schemas.lead.searchableFields.some((s) => s.length === 1 && s[0] === key)) {
      warnings.push(`leadKey.marketoField: '${key}' is not in the lead searchableFields, so Marketo may refuse it as lookupField`);
    }
  }
  const leadTypes = config.entities.filter((e) => e.enabled && e.marketo === 'lead').map((e) => e.crm);
  for (const type of leadTypes) {
    const field = crmEntities.get(type)?.fields.find((f) => f.name === config.leadKey.crmMarketoIdField);
    if (crmEntities.has(type) && (!field || !field.unique)) {
      errors.push(`leadKey.crmMarketoIdField: CRM ${type} has no unique field '${config.leadKey.crmMarketoIdField}' to hold the Marketo lead id`);
    }
  }
  if (config.leadRouting.by === 'field' && !leadFields.has(config.leadRouting.marketoField)) {
    errors.push(`leadRouting.marketoField: unknown Marketo lead field '${config.leadRouting.marketoField}'${didYouMean(config.leadRouting.marketoField, leadFields.keys())}`);
  }
  if (config.leadRouting.by === 'externalCompanyId' && leadTypes.includes('contact') && !leadFields.has('externalCompanyId')) {
    errors.push(`leadRouting: routing by externalCompanyId but the Marketo lead has no field 'externalCompanyId'`);
  }
}

/** Seed: revenue attribution (first-touch and multi-touch) only works when these are mapped. */
function attributionWarnings(config: MappingConfig): string[] {
  const warnings: string[] = [];
  const mapped = (e: EntityMapping | undefined, name: string) =>
    !!e && (e.fields.some((f) => f.enabled && f.marketo === name) || e.derived.some((d) => d.enabled && d.marketo === name));
  const opp = config.entities.find((e) => e.enabled && e.marketo === 'opportunity');
  const role = config.entities.find((e) => e.enabled && e.marketo === 'opportunityRole');
  const persons = config.entities.filter((e) => e.enabled && e.marketo === 'lead');
  if (opp) {
    for (const name of ['amount', 'externalCreatedDate', 'isClosed', 'isWon', 'externalCompanyId']) {
      if (!mapped(opp, name)) warnings.push(`opportunity: '${name}' is not mapped; revenue attribution needs it`);
    }
    if (!role) warnings.push('opportunity roles are not mapped; opportunities reach leads (and attribution) only through roles');
  }
  if (role) for (const name of ['leadId', 'role', 'isPrimary']) if (!mapped(role, name)) warnings.push(`opportunityRole: '${name}' is not mapped`);
  for (const p of persons) {
    for (const name of ['acquisitionProgramId', 'acquisitionDate']) {
      if (!mapped(p, name)) warnings.push(`lead ⇄ ${p.crm}: '${name}' is not mapped; first-touch attribution in the CRM needs it`);
    }
  }
  return warnings;
}

/** `; did you mean 'email'?` for a near miss (edit distance ≤ 2), else nothing. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best ? `; did you mean '${best}'?` : '';
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
