import { buildPersonMapping, type PersonMapping } from '../../reconcile/person-mapping.js';
import { loadPushContext, type PushContext, type PushContextDeps } from '../push/context.js';

/** What reading Marketo leads into the CRM needs, loaded once per step run. */
export interface PullContext extends PushContext {
  person: PersonMapping;
  /** Lead field REST name by its display name (Change Data Value names the field by display name). */
  fieldByDisplayName: Map<string, string>;
  /** Lead fields the mapping carries to the CRM (plus the keys routing needs). */
  pulledFields: Set<string>;
  /** Company-type lead fields (Describe Company): on a linked lead they belong to its company. */
  companyFields: Set<string>;
}

/**
 * Same sources as the push (schema cache, saved or suggested mapping), so a pull costs no
 * describe call once the cache is filled; `describeCalls` counts the ones it had to make.
 */
export async function loadPullContext(deps: PushContextDeps): Promise<{ context: PullContext; describeCalls: number } | { context: undefined; describeCalls: number }> {
  const { context, describeCalls } = await loadPushContext(deps);
  const personsOn = ['lead', 'contact'].every((crm) => context.config.entities.some((e) => e.marketo === 'lead' && e.crm === crm && e.enabled));
  if (!personsOn) return { context: undefined, describeCalls };
  const person = buildPersonMapping(context.config, context.schemas, context.describe, { csv: false });
  const fieldByDisplayName = new Map<string, string>();
  for (const f of context.schemas.lead.fields) {
    fieldByDisplayName.set(f.name, f.name);
    if (f.displayName) fieldByDisplayName.set(f.displayName, f.name);
  }
  const companyFields = new Set((context.schemas.company?.fields ?? []).map((f) => f.name).filter((n) => !['id', 'externalCompanyId', 'createdAt', 'updatedAt'].includes(n)));
  return { context: { ...context, person, fieldByDisplayName, pulledFields: new Set(person.exportFields), companyFields }, describeCalls };
}
