import type { CrmDescribe, CrmRecord } from '../crm/connector.js';
import { compileToCrm, type MarketoRecord } from '../mapping/apply.js';
import type { EntityMapping, MappingConfig } from '../mapping/mapping-config.js';
import type { MarketoObjectName, MarketoSchemas } from '../mapping/marketo-schema.js';
import { toColumnName } from '../crm/identifiers.js';
import { MarketingRecordError, personColumns, positiveIdCell, type PersonLink } from './cells.js';

/**
 * How one Marketo custom object type lands in its provisioned CRM table (`custom:<name>`): which
 * fields to export, which column keys the upsert, how a row maps, and which lead it hangs off.
 * Compiled once per type from the saved mapping and both describes.
 */
export interface CustomObjectPlan {
  apiName: string;
  crmEntity: string;
  /** Marketo fields the bulk export reads: marketoGUID, the dedupe fields, the lead link, the mapped fields. */
  exportFields: string[];
  /**
   * CRM column the upsert matches on: the single dedupe field's column, or `marketo_guid` when the
   * dedupe key is compound (the connector matches on one unique column; the GUID is Marketo's
   * id for the record and as stable as the compound key).
   */
  keyField: string;
  /** Marketo field holding the Marketo lead id of the parent lead, when the object links to leads by id. */
  leadIdField: string | undefined;
  /** The row's dedupe key as text, for the error ledger. */
  recordKey(row: MarketoRecord): string;
  /** The parent lead's Marketo id, or undefined (no lead link, or an empty link field). */
  leadId(row: MarketoRecord): number | undefined;
  /** Throws MarketingRecordError naming the field when the row cannot become a CRM record. */
  toRecord(row: MarketoRecord, person: PersonLink | undefined): CrmRecord;
}

/** Custom object entities the mapping enables: `customObject:<apiName>` ⇄ `custom:<name>`. */
export function enabledCustomObjects(config: MappingConfig | undefined): EntityMapping[] {
  return (config?.entities ?? []).filter((e) => e.enabled && e.marketo.startsWith('customObject:') && e.crm.startsWith('custom:'));
}

export function apiNameOf(entity: EntityMapping): string {
  return entity.marketo.slice('customObject:'.length);
}

export function compileCustomObjectPlan(config: MappingConfig, entity: EntityMapping, schemas: MarketoSchemas, describe: CrmDescribe): CustomObjectPlan {
  const apiName = apiNameOf(entity);
  const meta = schemas.customObjects[apiName];
  if (!meta) throw new Error(`custom object ${apiName} is not in Marketo's describe`);
  const crm = describe.entities.find((e) => e.name === entity.crm);
  if (!crm) throw new Error(`CRM entity ${entity.crm} does not exist (provision it first)`);
  const columns = new Set(crm.fields.map((f) => f.name));
  const map = compileToCrm(config, entity.marketo as MarketoObjectName, entity.crm, schemas, describe, { csvNulls: true });
  const mapped = entity.fields.filter((f) => f.enabled && f.direction !== 'toMarketo' && meta.fields.some((m) => m.name === f.marketo));
  const columnOf = new Map(mapped.map((f) => [f.marketo, f.crm]));
  const dedupe = meta.dedupeFields;
  const single = dedupe.length === 1 ? columnOf.get(dedupe[0]!) ?? toColumnName(dedupe[0]!) : undefined;
  const keyField = single !== undefined && columns.has(single) ? single : 'marketo_guid';
  const link = (meta.relationships ?? []).find((r) => r.type === 'parent' && r.relatedTo.name.toLowerCase() === 'lead' && r.relatedTo.field === 'id');
  const leadIdField = link?.field;
  const linksPeople = columns.has('lead_id') && columns.has('contact_id');
  const exportFields = [...new Set(['marketoGUID', ...dedupe, ...(leadIdField ? [leadIdField] : []), ...mapped.map((f) => f.marketo)])];

  const recordKey = (row: MarketoRecord): string => {
    const parts = dedupe.map((d) => row[d]);
    return parts.every((p) => p !== null && p !== undefined && p !== '' && p !== 'null') ? parts.map(String).join('|') : String(row.marketoGUID ?? '(no key)');
  };
  return {
    apiName,
    crmEntity: entity.crm,
    exportFields,
    keyField,
    leadIdField,
    recordKey,
    leadId(row) {
      if (!leadIdField) return undefined;
      const value = row[leadIdField];
      if (value === null || value === undefined || value === '' || value === 'null') return undefined;
      const parsed = positiveIdCell.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    },
    toRecord(row, person) {
      const guid = row.marketoGUID;
      if (typeof guid !== 'string' || guid === '' || guid === 'null') throw new MarketingRecordError('marketoGUID', `${apiName} ${recordKey(row)}: marketoGUID is missing`);
      for (const d of dedupe) {
        const v = row[d];
        if (v === null || v === undefined || v === '' || v === 'null') throw new MarketingRecordError(d, `${apiName} ${recordKey(row)}: dedupe field ${d} is empty`);
      }
      const out = map(row);
      if (!out.ok) throw new MarketingRecordError(out.errors[0]?.match(/field '([^']+)'/)?.[1] ?? '(field)', `${apiName} ${recordKey(row)}: ${out.errors.join('; ')}`);
      const record: CrmRecord = { ...out.record, marketo_guid: guid };
      if (linksPeople) Object.assign(record, personColumns(person));
      if (record[keyField] === null || record[keyField] === undefined) throw new MarketingRecordError(keyField, `${apiName} ${recordKey(row)}: key column ${keyField} is empty (is the dedupe field mapped?)`);
      return record;
    },
  };
}
