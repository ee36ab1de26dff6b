import { z } from 'zod';
import type { ActivityRow } from '../../src/marketo/bulk/rows.js';
import { BootstrapStaging, stageRoleRefs, type StagedRoleRef } from '../bootstrap-staging.js';
import type { IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';

/** Marketo's Add to Opportunity activity type. */
export const ADD_TO_OPPORTUNITY = 34;

/** Marketo's maximum filter values per Get Opportunities call. */
const PER_CALL = 300;

const text = z.union([z.string(), z.number()]).nullish().transform((v) => (v === null || v === undefined || v === '' ? null : String(v)));
/**
 * The attributes of an Add to Opportunity activity, as Adobe lists them for type 34 ("Oppty ID,
 * Is Primary, Role": the Lead Activity Data Stream event list, AdobeDocs/adobe-io-events
 * marketo-lead-activity-data-stream-setup.md; marketo-api.md §9.2). Oppty ID is what the seed
 * hands to Get Opportunities with filterType idField, i.e. the opportunity's marketoGUID.
 */
const attributesSchema = z.looseObject({
  'Oppty ID': text,
  Role: text,
});
const rowSchema = z.object({
  marketoGUID: z.string().min(1),
  leadId: z.number().int().positive(),
  activityTypeId: z.literal(ADD_TO_OPPORTUNITY),
  attributes: attributesSchema,
});

/**
 * Add to Opportunity activities → staged role keys (opportunity, lead, role). The activity names
 * its opportunity by Oppty ID (marketoGUID) only, while roles are keyed on externalOpportunityId:
 * the sink resolves each GUID once (Get Opportunities by idField, 300 a call, remembered for the
 * sink's life) before staging. The opportunities and roles phases read the distinct keys from the
 * staging table, so no activity row passes through workflow history and a retried window stages
 * nothing twice.
 */
export function addToOpportunitySink(deps: IngestSinkDeps): IngestSinkImpl<'activities'> {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  // GUID → externalOpportunityId (null: Marketo no longer has the opportunity).
  const externalIds = new Map<string, string | null>();

  async function resolve(guids: readonly string[]): Promise<number> {
    const unknown = [...new Set(guids)].filter((g) => !externalIds.has(g));
    let calls = 0;
    for (let i = 0; i < unknown.length; i += PER_CALL) {
      const values = unknown.slice(i, i + PER_CALL);
      const page = await deps.marketo.opportunities.get({ filterType: 'idField', filterValues: values, fields: ['marketoGUID', 'externalOpportunityId'] });
      calls += 1;
      for (const g of values) externalIds.set(g, null);
      for (const o of page.items) if (typeof o.marketoGUID === 'string') externalIds.set(o.marketoGUID, text.parse(o.externalOpportunityId));
    }
    return calls;
  }

  return {
    rowKind: 'activities',
    exportRequest(source, window) {
      if (source.kind !== 'activities') throw new Error(`the addToOpportunity sink reads activity exports, not ${source.kind}`);
      return Promise.resolve({
        format: 'CSV',
        fields: ['marketoGUID', 'leadId', 'activityDate', 'activityTypeId', 'primaryAttributeValueId', 'attributes'],
        filter: { createdAt: window, activityTypeIds: source.activityTypeIds },
      });
    },
    async write(rows: ActivityRow[], ctx) {
      const parsed = rows.map((raw) => {
        const r = rowSchema.safeParse(raw);
        if (!r.success) throw new Error(`Add to Opportunity activity ${raw.marketoGUID ?? '?'}: ${z.prettifyError(r.error)}`);
        return r.data;
      });
      const apiCalls = await resolve(parsed.flatMap((r) => (r.attributes['Oppty ID'] === null ? [] : [r.attributes['Oppty ID']])));
      const refs: StagedRoleRef[] = parsed.map((r) => {
        const guid = r.attributes['Oppty ID'];
        return {
          activityGuid: r.marketoGUID,
          marketoLeadId: r.leadId,
          externalOpportunityId: guid === null ? null : (externalIds.get(guid) ?? null),
          opportunityGuid: guid,
          role: r.attributes.Role,
        };
      });
      await stageRoleRefs(staging, ctx.runId, refs);
      return { written: refs.length, failed: 0, apiCalls };
    },
  };
}
