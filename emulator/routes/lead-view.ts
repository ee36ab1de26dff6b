import { MarketoError } from '../http/envelope.js';
import type { Params } from '../http/params.js';
import type { Subscription } from '../subscription.js';

/** Fields a lead read returns when `fields` is omitted (order of recorded real responses). */
export const DEFAULT_LEAD_FIELDS = ['id', 'firstName', 'lastName', 'email', 'updatedAt', 'createdAt'];

/** The `fields` parameter resolved against the lead schema; unknown names answer 1006. */
export function leadFieldsParam(sub: Subscription, params: Params, defaults = DEFAULT_LEAD_FIELDS): string[] {
  const requested = params.list('fields');
  if (!requested) return defaults;
  for (const f of requested) if (!sub.leadField(f)) throw new MarketoError('1006', `Field '${f}' not found`);
  return requested.includes('id') ? requested : ['id', ...requested];
}

/** One lead as the REST API shows it: requested fields, absent values as null. */
export function viewLead(sub: Subscription, id: number, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = f === 'id' ? id : sub.leadValue(id, f);
  return out;
}
