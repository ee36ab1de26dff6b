import type { CrmEntityName, StandardEntity } from './connector.js';

/**
 * Where a CRM record keeps the key Marketo knows it by.
 *
 * Records the CRM created are known to Marketo by their CRM id (written to externalCompanyId,
 * externalSalesPersonId, externalOpportunityId). Records that came from Marketo (bootstrap,
 * pull) keep Marketo's own external key in a unique column, because Marketo already had them
 * under that key: the push must address them by it, or it would create a second Marketo record.
 * Roles keep the GUID Marketo gave them.
 */
export const MARKETO_KEY_FIELDS: Partial<Record<StandardEntity, string>> = {
  account: 'external_company_id',
  user: 'external_sales_person_id',
  opportunity: 'external_opportunity_id',
};

/** The Marketo GUID of an opportunity role, learned by the push or written by the bootstrap. */
export const ROLE_GUID_FIELD = 'marketo_guid';

/**
 * CRM fields of the standard entities that are bookkeeping of the sync rather than data: never
 * suggested as ordinary mapped fields (the push and the pull use them directly). A custom
 * object's `marketo_guid` is different: it is the object's Marketo key, mapped from marketoGUID.
 */
const SYNC_KEY_FIELDS: Partial<Record<StandardEntity, ReadonlySet<string>>> = {
  account: new Set(['external_company_id']),
  user: new Set(['external_sales_person_id']),
  opportunity: new Set(['external_opportunity_id']),
  opportunityRole: new Set([ROLE_GUID_FIELD]),
  // Set by the pull's `flag` delete policy (migration 5); the push skips flagged persons.
  lead: new Set(['deleted_in_marketo']),
  contact: new Set(['deleted_in_marketo']),
};

export function isSyncKeyField(entity: string, field: string): boolean {
  return SYNC_KEY_FIELDS[entity as StandardEntity]?.has(field) ?? false;
}

/** Objects carried from Marketo into the CRM one way (programs, lists, activities): never pushed to Marketo. */
export const MARKETO_ONLY_ENTITIES: ReadonlySet<string> = new Set<StandardEntity>(['campaign', 'campaignMember', 'staticList', 'listMember', 'activity']);

/** The key Marketo knows a record by: its kept Marketo key when it has one, else its CRM id. */
export function marketoKeyOf(entity: CrmEntityName, record: Readonly<Record<string, unknown>>, id: string): string {
  const field = MARKETO_KEY_FIELDS[entity as StandardEntity];
  const kept = field ? record[field] : undefined;
  return typeof kept === 'string' && kept !== '' ? kept : id;
}
