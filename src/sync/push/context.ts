import type { CrmConnector, CrmDescribe } from '../../crm/connector.js';
import type { MappingConfig } from '../../mapping/mapping-config.js';
import { MarketoSchemas, ObjectMetaData } from '../../mapping/marketo-schema.js';
import { suggestMapping } from '../../mapping/suggest.js';
import type { MarketoClient } from '../../marketo/index.js';
import type { StateStore } from '../../store/state-store.js';

/** What mapping CRM records to Marketo needs: the mapping and both systems' schemas. */
export interface PushContext {
  config: MappingConfig;
  schemas: MarketoSchemas;
  describe: CrmDescribe;
}

export interface PushContextDeps {
  marketo: MarketoClient;
  store: Pick<StateStore, 'schemaCache' | 'mappings'>;
  crm: Pick<CrmConnector, 'describe'>;
}

const OBJECTS = ['company', 'opportunity', 'opportunityRole', 'salesPerson'] as const;
const CUSTOM_OBJECT_PREFIX = 'customObject:';

/**
 * Loads the mapping context. Marketo schemas come from the schema cache the schema-refresh
 * activity fills (no API call); only objects missing there are described (one call each), so a
 * push costs describes once per subscription, not once per cycle.
 */
export async function loadPushContext(deps: PushContextDeps): Promise<{ context: PushContext; describeCalls: number }> {
  let describeCalls = 0;
  const cached = async (object: string, read: () => Promise<unknown>): Promise<unknown> => {
    const hit = await deps.store.schemaCache.get('marketo', object);
    if (hit) return hit.describe;
    describeCalls++;
    // Through JSON, as the cache stores it: the client's parsed dates become the strings the mapping schemas expect.
    const fresh: unknown = JSON.parse(JSON.stringify(await read()));
    await deps.store.schemaCache.put('marketo', object, fresh);
    return fresh;
  };
  const input: Record<string, unknown> = { lead: await cached('lead', () => deps.marketo.describe.leads2()) };
  const readers: Record<(typeof OBJECTS)[number], () => Promise<unknown>> = {
    company: () => deps.marketo.describe.companies(),
    opportunity: () => deps.marketo.describe.opportunities(),
    opportunityRole: () => deps.marketo.describe.opportunityRoles(),
    salesPerson: () => deps.marketo.describe.salesPersons(),
  };
  for (const name of OBJECTS) {
    const meta = await cached(name, readers[name]);
    // A subscription without the object (or without permission) simply has no such mapping target.
    if (ObjectMetaData.safeParse(meta).success) input[name] = meta;
  }
  const saved = (await deps.store.mappings.current())?.config;
  // Custom objects are described only when a saved mapping uses them (the suggestion has none).
  const customObjects: Record<string, unknown> = {};
  for (const entity of saved?.entities ?? []) {
    if (!entity.enabled || !entity.marketo.startsWith(CUSTOM_OBJECT_PREFIX)) continue;
    const apiName = entity.marketo.slice(CUSTOM_OBJECT_PREFIX.length);
    const meta = await cached(entity.marketo, () => deps.marketo.describe.customObject(apiName));
    if (ObjectMetaData.safeParse(meta).success) customObjects[apiName] = meta;
  }
  const schemas = MarketoSchemas.parse({ ...input, customObjects });
  const describe = await deps.crm.describe();
  const config = saved ?? suggestMapping(schemas, describe);
  return { context: { config, schemas, describe }, describeCalls };
}

/** The Marketo field a CRM entity's own id is written to (externalCompanyId, externalOpportunityId, ...). */
export function marketoKeyOfCrmId(config: MappingConfig, marketo: string, crm: string): string | undefined {
  const entity = config.entities.find((e) => e.marketo === marketo && e.crm === crm && e.enabled);
  return entity?.fields.find((f) => f.enabled && f.crm === 'id' && f.direction !== 'toCrm')?.marketo;
}
