import type { CrmEntityName } from '../../crm/connector.js';

/**
 * Watermark streams of the push. Upserts and deletes of one entity have separate positions: the
 * seed creates and updates early in a cycle (steps 1–3, 8–9) and deletes late (10–13), so the
 * upsert step must not carry the position past tombstones the delete step has not handled yet.
 */
export function upsertStream(entity: CrmEntityName): string {
  return `crm:push:${entity}`;
}

export function deleteStream(entity: CrmEntityName): string {
  return `crm:push-delete:${entity}`;
}

/** Error ledger operations of the push (entity = CRM entity, record key = CRM id). */
export const PUSH_OPERATION = 'push';
export const PUSH_DELETE_OPERATION = 'push-delete';
