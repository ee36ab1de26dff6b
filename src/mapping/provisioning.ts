import type { CrmConnector, CrmDescribe, CrmEntityName, ProvisionCustomObjectSpec, ProvisionFieldSpec } from '../crm/connector.js';
import { toColumnName } from '../crm/identifiers.js';
import type { MappingConfig } from './mapping-config.js';
import { marketoObject, type MarketoField, type MarketoSchemas } from './marketo-schema.js';
import { crmTypeForMarketo, MARKETO_FAMILY } from './types.js';
import { marketoLength } from './validate.js';

export interface ProvisioningPlan {
  customObjects: ProvisionCustomObjectSpec[];
  fields: { entity: string; field: ProvisionFieldSpec }[];
}

/** Marketo system fields a provisioned custom object does not copy as plain columns. */
const CUSTOM_OBJECT_SYSTEM = new Set(['marketoGUID', 'createdAt', 'updatedAt']);

/**
 * What the CRM lacks for the enabled mapping: columns for enabled Marketo fields whose CRM field
 * does not exist yet, and tables for enabled custom objects whose CRM entity does not exist.
 * Column types follow the Marketo field (string lengths kept). Run it before validateMapping
 * when an operator enables a Marketo field, then apply it with `provision`.
 */
export function planProvisioning(config: MappingConfig, schemas: MarketoSchemas, crm: CrmDescribe): ProvisioningPlan {
  const plan: ProvisioningPlan = { customObjects: [], fields: [] };
  const entities = new Map(crm.entities.map((e) => [e.name as string, e]));
  for (const entity of config.entities) {
    if (!entity.enabled) continue;
    const mObject = marketoObject(schemas, entity.marketo);
    if (!mObject) continue;
    const cEntity = entities.get(entity.crm);
    if (!cEntity) {
      if (!entity.marketo.startsWith('customObject:') || !entity.crm.startsWith('custom:')) continue;
      const meta = schemas.customObjects[entity.marketo.slice('customObject:'.length)]!;
      const wanted = entity.fields.filter((f) => f.enabled && !CUSTOM_OBJECT_SYSTEM.has(f.marketo) && mObject.fields.has(f.marketo));
      const byMarketo = new Map(wanted.map((f) => [f.marketo, f.crm]));
      const links = new Set<'lead' | 'contact' | 'account'>();
      for (const r of meta.relationships ?? []) {
        if (r.type !== 'parent') continue;
        if (r.relatedTo.name.toLowerCase() === 'lead') (['lead', 'contact'] as const).forEach((l) => links.add(l));
        if (r.relatedTo.name.toLowerCase() === 'company') links.add('account');
      }
      plan.customObjects.push({
        name: entity.crm.slice('custom:'.length),
        fields: wanted.map((f) => fieldSpec(f.crm, mObject.fields.get(f.marketo)!)),
        dedupeFields: meta.dedupeFields.map((d) => byMarketo.get(d) ?? toColumnName(d)),
        links: [...links],
      });
      continue;
    }
    const existing = new Set(cEntity.fields.map((f) => f.name));
    for (const f of entity.fields) {
      const m = mObject.fields.get(f.marketo);
      if (!f.enabled || !m || existing.has(f.crm)) continue;
      plan.fields.push({ entity: entity.crm, field: fieldSpec(f.crm, m) });
      existing.add(f.crm);
    }
  }
  return plan;
}

function fieldSpec(name: string, m: MarketoField): ProvisionFieldSpec {
  const type = crmTypeForMarketo(m.dataType);
  const spec: ProvisionFieldSpec = { name, type };
  if (type === 'string' && MARKETO_FAMILY[m.dataType] === 'text') spec.length = marketoLength(m) ?? 255;
  return spec;
}

/** Applies a plan through a connector that can provision; refuses clearly when it cannot. */
export async function provision(connector: CrmConnector, plan: ProvisioningPlan): Promise<{ created: string[] }> {
  const created: string[] = [];
  if ((plan.customObjects.length > 0 && !connector.provisionCustomObject) || (plan.fields.length > 0 && !connector.provisionField)) {
    throw new Error('this CRM connector cannot create fields or objects: create them in the CRM, then refresh the schema');
  }
  for (const co of plan.customObjects) {
    const r = await connector.provisionCustomObject!(co);
    if (r.created) created.push(r.entity);
  }
  for (const { entity, field } of plan.fields) {
    const r = await connector.provisionField!(entity as CrmEntityName, field);
    if (r.created) created.push(`${entity}.${field.name}`);
  }
  return { created };
}
