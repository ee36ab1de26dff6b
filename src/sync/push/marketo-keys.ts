import type { CrmConnector, CrmDescribe, CrmEntityName, CrmRecord, StandardEntity } from '../../crm/connector.js';
import { MARKETO_KEY_FIELDS, marketoKeyOf } from '../../crm/marketo-keys.js';

/**
 * Turns CRM ids into the keys Marketo knows records by, before a record is mapped: the record's
 * own `id` becomes its kept Marketo key when it came from Marketo (see src/crm/marketo-keys.ts),
 * and references to accounts, users and opportunities (account_id, owner_id, opportunity_id)
 * become the referenced record's key, so a person of a Marketo-born company is pushed with that
 * company's externalCompanyId. The referenced records are read in one call per entity.
 */
export type KeyResolver = (record: CrmRecord) => CrmRecord;

export async function loadKeyResolver(
  crm: Pick<CrmConnector, 'getRecords'>,
  describe: CrmDescribe,
  entity: CrmEntityName,
  records: readonly CrmRecord[],
): Promise<KeyResolver> {
  const fields = describe.entities.find((e) => e.name === entity)?.fields ?? [];
  const refs = fields.filter((f) => f.type === 'reference' && f.references !== undefined && MARKETO_KEY_FIELDS[f.references as StandardEntity] !== undefined);
  const keys = new Map<string, Map<string, string>>();
  for (const target of new Set(refs.map((f) => f.references!))) {
    const ids = new Set<string>();
    for (const r of records) for (const f of refs) if (f.references === target && r[f.name] !== null && r[f.name] !== undefined) ids.add(String(r[f.name]));
    const byId = new Map<string, string>();
    if (ids.size > 0) for (const row of await crm.getRecords(target, [...ids])) byId.set(String(row.id), marketoKeyOf(target, row, String(row.id)));
    keys.set(target, byId);
  }
  const ownKey = MARKETO_KEY_FIELDS[entity as StandardEntity] !== undefined;
  if (!ownKey && refs.length === 0) return (record) => record;
  return (record) => {
    const out = { ...record };
    if (ownKey && record.id !== undefined && record.id !== null) out.id = marketoKeyOf(entity, record, String(record.id));
    for (const f of refs) {
      const v = record[f.name];
      // A reference to a record gone meanwhile keeps the CRM id: that is the key Marketo has if the CRM made it.
      if (v !== null && v !== undefined) out[f.name] = keys.get(f.references!)?.get(String(v)) ?? v;
    }
    return out;
  };
}
