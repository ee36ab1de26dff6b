import type { CrmDescribe } from '../crm/connector.js';
import type { MappingConfig } from './mapping-config.js';
import { marketoObject, type MarketoSchemas } from './marketo-schema.js';

export interface RefreshOutcome {
  config: MappingConfig;
  /** One line per field or entity that was switched off. */
  warnings: string[];
  changed: boolean;
}

/**
 * Run on every schema refresh: fields that disappeared (or became hidden) on either side are
 * disabled with a reason, entities whose object disappeared likewise. Never throws, so a field
 * deleted in Marketo in the middle of the night cannot stop the sync; validateMapping on the
 * result reports anything else.
 */
export function reconcileWithSchemas(config: MappingConfig, schemas: MarketoSchemas, crm: CrmDescribe): RefreshOutcome {
  const warnings: string[] = [];
  const crmEntities = new Map(crm.entities.map((e) => [e.name as string, e]));
  const entities = config.entities.map((entity) => {
    if (!entity.enabled) return entity;
    const mObject = marketoObject(schemas, entity.marketo);
    const cEntity = crmEntities.get(entity.crm);
    if (!mObject || !cEntity) {
      const missing = !mObject ? `Marketo object '${entity.marketo}'` : `CRM entity '${entity.crm}'`;
      warnings.push(`${entity.marketo} ⇄ ${entity.crm}: disabled, ${missing} no longer exists`);
      return { ...entity, enabled: false };
    }
    const crmFields = new Set(cEntity.fields.map((f) => f.name));
    const fields = entity.fields.map((field) => {
      if (!field.enabled) return field;
      const m = mObject.fields.get(field.marketo);
      let reason: string | undefined;
      if (!m) reason = `Marketo field '${field.marketo}' no longer exists`;
      else if (m.isHidden) reason = `Marketo field '${field.marketo}' is hidden`;
      else if (!crmFields.has(field.crm)) reason = `CRM field '${field.crm}' no longer exists`;
      if (!reason) return field;
      warnings.push(`${entity.marketo} ⇄ ${entity.crm}: field ${field.marketo} ⇄ ${field.crm} disabled: ${reason}`);
      return { ...field, enabled: false, disabledReason: reason };
    });
    const derived = entity.derived.map((d) => {
      if (!d.enabled || mObject.fields.has(d.marketo)) return d;
      warnings.push(`${entity.marketo} ⇄ ${entity.crm}: derived field ${d.marketo} disabled: it no longer exists in Marketo`);
      return { ...d, enabled: false };
    });
    return { ...entity, fields, derived };
  });
  return { config: { ...config, entities }, warnings, changed: warnings.length > 0 };
}
