import type { CrmDescribe, CrmField, CrmRecord, CrmValue } from '../crm/connector.js';
import type { EntityMapping, MappingConfig } from './mapping-config.js';
import { marketoObject, type MarketoField, type MarketoObjectName, type MarketoSchemas } from './marketo-schema.js';
import { compileMarketoToCrm, compileMarketoToCrmValue, crmToMarketo, type Transformed, type TransformError, type TransformOptions } from './transforms.js';

export type MarketoRecord = Record<string, unknown>;
export type MapOutcome<T> = { ok: true; record: T } | { ok: false; record: T; errors: string[] };

interface Step {
  marketo: MarketoField;
  crm: CrmField;
  options: TransformOptions;
}

function entityMapping(config: MappingConfig, marketo: MarketoObjectName, crm: string): EntityMapping {
  const entity = config.entities.find((e) => e.marketo === marketo && e.crm === crm);
  if (!entity) throw new Error(`no mapping between Marketo ${marketo} and CRM ${crm}`);
  return entity;
}

function steps(config: MappingConfig, marketo: MarketoObjectName, crm: string, schemas: MarketoSchemas, describe: CrmDescribe, toCrm: boolean, csvNulls = false): Step[] {
  const entity = entityMapping(config, marketo, crm);
  if (!entity.enabled) return [];
  const mObject = marketoObject(schemas, marketo);
  const cEntity = describe.entities.find((e) => e.name === crm);
  if (!mObject || !cEntity) throw new Error(`mapping ${marketo} ⇄ ${crm} refers to an object missing from Describe`);
  const out: Step[] = [];
  for (const f of entity.fields) {
    if (!f.enabled || f.direction === (toCrm ? 'toMarketo' : 'toCrm')) continue;
    const m = mObject.fields.get(f.marketo);
    const c = cEntity.fields.find((x) => x.name === f.crm);
    // Fields gone from Describe are skipped here; reconcileWithSchemas disables them with a warning.
    if (!m || !c) continue;
    out.push({ marketo: m, crm: c, options: { valueMap: f.valueMap, truncate: f.truncate, csvNulls } });
  }
  return out;
}

/**
 * Compiles the Marketo → CRM direction of one entity mapping into a function, so mapping a
 * million records does the lookups once. Only fields present in the input are written: a
 * partial change stays partial. Errors name the field, never the value.
 */
export function compileToCrm(
  config: MappingConfig,
  marketo: MarketoObjectName,
  crm: string,
  schemas: MarketoSchemas,
  describe: CrmDescribe,
  options: {
    csvNulls?: boolean;
    /** CRM fields converted (a bad value is still an error) but left out of the record. */
    omit?: ReadonlySet<string>;
  } = {},
): (record: MarketoRecord) => MapOutcome<CrmRecord> {
  const plan = compileToCrmPlan(config, marketo, crm, schemas, describe, options);
  return (record) => {
    const out: CrmRecord = {};
    let errors: string[] | undefined;
    for (const step of plan) {
      const value = record[step.from];
      if (value === undefined) continue;
      const t = step.convert(value);
      if (!t.ok) (errors ??= []).push(t.error);
      else if (step.keep) out[step.to] = t.value;
    }
    return errors ? { ok: false, record: out, errors } : { ok: true, record: out };
  };
}

/** One Marketo → CRM field of a compiled mapping, in mapping order. */
export interface FieldStep {
  from: string;
  to: string;
  /** False for fields converted (a bad value is an error) but left out of the record. */
  keep: boolean;
  convert: (value: unknown) => Transformed;
  /** `convert` answering the value itself or a `TransformError` (no result object per value). */
  convertValue: (value: unknown) => CrmValue | TransformError;
}

/** The steps `compileToCrm` runs, for writers that encode values straight into their own form. */
export function compileToCrmPlan(
  config: MappingConfig,
  marketo: MarketoObjectName,
  crm: string,
  schemas: MarketoSchemas,
  describe: CrmDescribe,
  options: { csvNulls?: boolean; omit?: ReadonlySet<string> } = {},
): FieldStep[] {
  return steps(config, marketo, crm, schemas, describe, true, options.csvNulls).map((step) => ({
    from: step.marketo.name,
    to: step.crm.name,
    keep: !options.omit?.has(step.crm.name),
    convert: compileMarketoToCrm(step.marketo, step.crm, step.options),
    convertValue: compileMarketoToCrmValue(step.marketo, step.crm, step.options),
  }));
}

export function mapRecordToCrm(config: MappingConfig, marketo: MarketoObjectName, crm: string, record: MarketoRecord, schemas: MarketoSchemas, describe: CrmDescribe): MapOutcome<CrmRecord> {
  return compileToCrm(config, marketo, crm, schemas, describe)(record);
}

export interface ToMarketoOptions {
  /**
   * CRM references to leads/contacts (e.g. a role's contact_id) become Marketo lead ids through
   * the id map; the caller looks them up in bulk beforehand and answers here.
   */
  marketoLeadId?: (crmType: 'lead' | 'contact', crmId: string) => string | undefined;
}

/** Compiles the CRM → Marketo direction, including derived fields (expected revenue, stage). */
export function compileToMarketo(
  config: MappingConfig,
  crm: string,
  marketo: MarketoObjectName,
  schemas: MarketoSchemas,
  describe: CrmDescribe,
  options: ToMarketoOptions = {},
): (record: CrmRecord) => MapOutcome<MarketoRecord> {
  const plan = steps(config, marketo, crm, schemas, describe, false);
  const entity = entityMapping(config, marketo, crm);
  const mObject = marketoObject(schemas, marketo)!;
  const crmFieldFor = (marketoName: string) => entity.fields.find((f) => f.enabled && f.marketo === marketoName && f.direction !== 'toCrm')?.crm;
  const derived = entity.enabled ? entity.derived.filter((d) => d.enabled && mObject.fields.has(d.marketo)) : [];
  return (record) => {
    const out: MarketoRecord = {};
    let errors: string[] | undefined;
    for (const step of plan) {
      if (!(step.crm.name in record)) continue;
      let value: CrmValue | undefined = record[step.crm.name];
      if (step.crm.type === 'reference' && (step.crm.references === 'lead' || step.crm.references === 'contact') && value !== null && value !== undefined) {
        value = options.marketoLeadId?.(step.crm.references, String(value));
        if (value === undefined) {
          (errors ??= []).push(`field '${step.crm.name}' refers to a CRM ${step.crm.references} not yet in Marketo`);
          continue;
        }
      }
      const t = crmToMarketo(value, step.crm, step.marketo, step.options);
      if (t.ok) out[step.marketo.name] = t.value;
      else (errors ??= []).push(t.error);
    }
    for (const d of derived) {
      if (d.rule === 'expectedRevenue') {
        const amount = numberOrNull(record[crmFieldFor('amount') ?? '']);
        const probability = numberOrNull(record[crmFieldFor('probability') ?? '']);
        out[d.marketo] = amount === null || probability === null ? null : Math.round(amount * probability) / 100;
      } else {
        const closed = record[crmFieldFor('isClosed') ?? ''] === true;
        const won = closed && record[crmFieldFor('isWon') ?? ''] === true;
        const stageField = crmFieldFor('stage');
        out[d.marketo] = won ? config.stages.closedWon : closed ? config.stages.closedLost : ((stageField ? record[stageField] : null) ?? null);
      }
    }
    // Seed: Won is true only when Closed is true as well.
    if (out.isWon === true && out.isClosed === false) out.isWon = false;
    return errors ? { ok: false, record: out, errors } : { ok: true, record: out };
  };
}

function numberOrNull(v: CrmValue | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Which CRM record type a Marketo person maps to under the configured routing. */
export function routeLead(config: MappingConfig, lead: MarketoRecord): 'lead' | 'contact' {
  const routing = config.leadRouting;
  if (routing.by === 'externalCompanyId') {
    const v = lead.externalCompanyId;
    return v === null || v === undefined || v === '' || v === 'null' ? 'lead' : 'contact';
  }
  return lead[routing.marketoField] === routing.values.contact ? 'contact' : 'lead';
}

/** Fields every Marketo company describes but that identify rather than describe it. */
const COMPANY_KEYS = new Set(['id', 'externalCompanyId', 'createdAt', 'updatedAt']);

/**
 * Seed: when a person is linked to a company (externalCompanyId set), the company-type fields
 * (those in Describe Company) are no longer written through the person; they belong to the
 * company record. Splits a Marketo person payload accordingly; an unlinked person keeps all.
 */
export function splitCompanyFields(lead: MarketoRecord, schemas: MarketoSchemas): { person: MarketoRecord; company: MarketoRecord } {
  const linked = lead.externalCompanyId !== null && lead.externalCompanyId !== undefined && lead.externalCompanyId !== '';
  if (!linked || !schemas.company) return { person: { ...lead }, company: {} };
  const companyFields = new Set(schemas.company.fields.map((f) => f.name).filter((n) => !COMPANY_KEYS.has(n)));
  const person: MarketoRecord = {};
  const company: MarketoRecord = { externalCompanyId: lead.externalCompanyId };
  for (const [k, v] of Object.entries(lead)) {
    if (companyFields.has(k)) company[k] = v;
    else person[k] = v;
  }
  return { person, company };
}
