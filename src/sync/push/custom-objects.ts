import type { CrmEntityName, CrmRecord } from '../../crm/connector.js';
import { MARKETO_ONLY_ENTITIES } from '../../crm/marketo-keys.js';
import type { EntityMapping } from '../../mapping/mapping-config.js';
import type { MarketoObjectName } from '../../mapping/marketo-schema.js';
import type { PushContext } from './context.js';
import { upsertObjects } from './object-writer.js';
import { ledgerRetries, runStep, type PushDeps, type StepSummary } from './run-step.js';

const PREFIX = 'customObject:';

/**
 * Custom object mappings the push serves: enabled, a Marketo custom object paired with a CRM
 * custom entity, and at least one field going to Marketo. Programs, lists and activities carried
 * into the CRM from Marketo are never pushed back, whatever a mapping says.
 */
function pushedCustomObjects(context: PushContext): EntityMapping[] {
  return context.config.entities.filter(
    (e) =>
      e.enabled &&
      e.marketo.startsWith(PREFIX) &&
      e.crm.startsWith('custom:') &&
      !MARKETO_ONLY_ENTITIES.has(e.crm) &&
      context.schemas.customObjects[e.marketo.slice(PREFIX.length)] !== undefined &&
      // Not provisioned in the CRM (yet): nothing to read; validation reports the missing entity.
      context.describe.entities.some((d) => d.name === e.crm) &&
      e.fields.some((f) => f.enabled && f.direction !== 'toCrm'),
  );
}

/** CRM person columns of a custom object table, in the order they name the record's lead. */
const PERSON_LINKS = [
  { column: 'contact_id', type: 'contact' },
  { column: 'lead_id', type: 'lead' },
] as const;

/**
 * Seed step 14: CRM custom object records → Marketo custom objects, createOrUpdate by the
 * object's dedupe fields, 300 a call, one change stream per custom object. A record linked to a
 * CRM person gets the Marketo link field (the object's parent relationship to Lead) from that
 * person: its Marketo lead id from the id map when the link is by id, or its CRM id when the link
 * is the lead key field; a person not in Marketo yet ledgers the record (code MAPPING).
 */
export function pushCustomObjects(deps: PushDeps): Promise<StepSummary> {
  const streams = (context: PushContext) => pushedCustomObjects(context).map((e) => e.crm as CrmEntityName);
  return runStep(deps, 'pushCustomObjects', streams, 'upsert', async (context, windows, tally) => {
    let calls = 0;
    let retried = 0;
    for (const entity of pushedCustomObjects(context)) {
      const crm = entity.crm as CrmEntityName;
      const window = windows.get(crm);
      if (!window) continue;
      const retries = await ledgerRetries(deps, crm, window.upserts);
      retried += retries.length;
      const records = [...window.upserts, ...retries];
      if (records.length === 0) continue;
      const apiName = entity.marketo.slice(PREFIX.length);
      const link = context.schemas.customObjects[apiName]!.relationships?.find((r) => r.type === 'parent' && r.relatedTo.name.toLowerCase() === 'lead');
      const leadIds = await personMarketoIds(deps, records);
      const personOf = (r: CrmRecord) => {
        for (const l of PERSON_LINKS) if (r[l.column] !== null && r[l.column] !== undefined) return { type: l.type, id: String(r[l.column]) };
        return undefined;
      };
      const byId = link?.relatedTo.field === 'id';
      const byCrmKey = link?.relatedTo.field === context.config.leadKey.marketoField;
      const target = { marketo: entity.marketo as Exclude<MarketoObjectName, 'lead'>, crm, api: deps.marketo.customObject(apiName) };
      const result = await upsertObjects(context, target, records, tally, {
        batchSize: deps.options.batchSize,
        toMarketo: { marketoLeadId: (type, crmId) => leadIds.get(`${type}:${crmId}`) },
        complete: (source, out) => {
          const person = personOf(source);
          if (!link || !person || (!byId && !byCrmKey)) return undefined;
          if (byCrmKey) {
            out[link.field] = person.id;
            return undefined;
          }
          const marketoId = leadIds.get(`${person.type}:${person.id}`);
          if (marketoId === undefined) return [`the record's ${person.type} is not yet in Marketo, so '${link.field}' cannot be set`];
          out[link.field] = Number(marketoId);
          return undefined;
        },
      });
      calls += result.calls;
    }
    return { calls, read: retried };
  });
}

/** Marketo lead ids of the persons the records link to, from the id map (one query per person type). */
async function personMarketoIds(deps: PushDeps, records: readonly CrmRecord[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { column, type } of PERSON_LINKS) {
    const ids = [...new Set(records.flatMap((r) => (r[column] === null || r[column] === undefined ? [] : [String(r[column])])))];
    if (ids.length === 0) continue;
    for (const [crmId, link] of await deps.store.idMap.byCrmIds('lead', type, ids)) out.set(`${type}:${crmId}`, link.marketoId);
  }
  return out;
}
