import { ApplicationFailure } from '@temporalio/common';
import type { CrmConnector } from '../src/crm/connector.js';
import type { MappingConfig } from '../src/mapping/mapping-config.js';
import { MarketoSchemas, ObjectMetaData } from '../src/mapping/marketo-schema.js';
import { planProvisioning, provision } from '../src/mapping/provisioning.js';
import { apiNameOf, compileCustomObjectPlan, enabledCustomObjects, type CustomObjectPlan } from '../src/marketing/custom-object-record.js';
import type { MarketoClient } from '../src/marketo/index.js';
import { readMarketoSchemas } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import { marketoCall } from './failures.js';
import { withLiveness } from './liveness.js';

export interface CustomObjectDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
}

/** What the phase needs to know of one custom object type: names only, never records. */
export interface CustomObjectTarget {
  apiName: string;
  crmEntity: string;
  /** The CRM table was created by this call (false: it existed). */
  provisioned: boolean;
}

async function currentMapping(store: StateStore): Promise<MappingConfig | undefined> {
  return (await store.mappings.current())?.config;
}

/**
 * Marketo's describes as the mapping takes them, with the named custom objects added (one
 * describe call each). Through JSON, as readMarketoSchemas does: the client parses dates into
 * Dates, the mapping's schemas take the wire's strings.
 */
export async function customObjectSchemas(marketo: MarketoClient, apiNames: readonly string[]): Promise<{ schemas: MarketoSchemas; calls: number }> {
  const base = await readMarketoSchemas(marketo);
  const customObjects: Record<string, ObjectMetaData> = {};
  for (const name of apiNames) customObjects[name] = ObjectMetaData.parse(JSON.parse(JSON.stringify(await marketo.describe.customObject(name))));
  // describe2 + company + salesperson, then one per custom object.
  return { schemas: MarketoSchemas.parse({ ...base, customObjects }), calls: 3 + apiNames.length };
}

/**
 * The custom object types the saved mapping enables, each with its CRM table provisioned (the
 * seed: "your server should perform automatic provisioning of associated custom objects in the
 * CRM for objects where bootstrapping from Marketo to CRM is being performed").
 */
export async function prepareCustomObjects(deps: CustomObjectDeps, apiNames?: readonly string[]): Promise<{ targets: CustomObjectTarget[]; apiCalls: number }> {
  const config = await currentMapping(deps.store);
  const enabled = enabledCustomObjects(config);
  const unknown = (apiNames ?? []).filter((n) => !enabled.some((e) => apiNameOf(e) === n));
  if (unknown.length > 0) {
    throw ApplicationFailure.nonRetryable(`custom objects ${unknown.join(', ')} are not enabled in the saved mapping (enabled: ${enabled.map(apiNameOf).join(', ') || 'none'})`, 'CustomObjectNotMapped');
  }
  const entities = apiNames ? enabled.filter((e) => apiNames.includes(apiNameOf(e))) : enabled;
  if (!config || entities.length === 0) return { targets: [], apiCalls: 0 };
  const { schemas, calls } = await customObjectSchemas(deps.marketo, entities.map(apiNameOf));
  const plan = planProvisioning(config, schemas, await deps.crm.describe());
  // Only the types this phase loads: the lead and sales entities are not this phase's to change.
  const loaded = new Set(entities.map((e) => e.crm));
  const { created } = await provision(deps.crm, {
    customObjects: plan.customObjects.filter((c) => loaded.has(`custom:${c.name}`)),
    fields: plan.fields.filter((f) => loaded.has(f.entity)),
  });
  return {
    targets: entities.map((e) => ({ apiName: apiNameOf(e), crmEntity: e.crm, provisioned: created.includes(e.crm) })),
    apiCalls: calls,
  };
}

/** The compiled plan of one custom object type, loaded once per worker (describes are 4 calls). */
export function customObjectPlans(deps: CustomObjectDeps): (apiName: string) => Promise<{ plan: CustomObjectPlan; calls: number }> {
  const plans = new Map<string, Promise<CustomObjectPlan>>();
  const load = async (apiName: string): Promise<{ plan: CustomObjectPlan; calls: number }> => {
    const config = await currentMapping(deps.store);
    const entity = enabledCustomObjects(config).find((e) => apiNameOf(e) === apiName);
    if (!config || !entity) throw new Error(`custom object ${apiName} is not enabled in the saved mapping`);
    const { schemas, calls } = await customObjectSchemas(deps.marketo, [apiName]);
    return { plan: compileCustomObjectPlan(config, entity, schemas, await deps.crm.describe()), calls };
  };
  return async (apiName) => {
    const cached = plans.get(apiName);
    if (cached) return { plan: await cached, calls: 0 };
    const loading = load(apiName);
    const plan = loading.then((x) => x.plan);
    plans.set(apiName, plan);
    // A failed load is tried again by the next caller (e.g. before the table was provisioned).
    plan.catch(() => plans.delete(apiName));
    return loading;
  };
}

/** Activities of the custom objects step (the export and ingest go through the bulk export sink). */
export function createMarketingCustomObjectActivities(deps: CustomObjectDeps) {
  return {
    /** Describes and provisions the enabled custom object types (`apiNames`: only these). */
    async prepareMarketingCustomObjects(input: { apiNames?: string[] }): Promise<{ targets: CustomObjectTarget[]; apiCalls: number }> {
      return withLiveness(() => marketoCall(() => prepareCustomObjects(deps, input.apiNames)));
    },
  };
}

