import { z } from 'zod';
import type { ActivityRow } from '../../src/marketo/bulk/rows.js';
import { BootstrapStaging, stageRoleRefs, type StagedRoleRef } from '../bootstrap-staging.js';
import type { IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';

/** Marketo's Add to Opportunity activity type. */
export const ADD_TO_OPPORTUNITY = 34;

const text = z.union([z.string(), z.number()]).nullish().transform((v) => (v === null || v === undefined || v === '' ? null : String(v)));
/** The attributes of an Add to Opportunity activity that identify the role it created. */
const attributesSchema = z.looseObject({
  'External Opportunity ID': text,
  'Opportunity GUID': text,
  Role: text,
});
const rowSchema = z.object({
  marketoGUID: z.string().min(1),
  leadId: z.number().int().positive(),
  activityTypeId: z.literal(ADD_TO_OPPORTUNITY),
  attributes: attributesSchema,
});

/**
 * Add to Opportunity activities → staged role keys (opportunity, lead, role). The opportunities
 * and roles phases read the distinct keys from the staging table, so no activity row passes
 * through workflow history and a retried window stages nothing twice.
 */
export function addToOpportunitySink(deps: IngestSinkDeps): IngestSinkImpl<'activities'> {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
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
      const refs: StagedRoleRef[] = [];
      for (const raw of rows) {
        const parsed = rowSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`Add to Opportunity activity ${raw.marketoGUID ?? '?'}: ${z.prettifyError(parsed.error)}`);
        const r = parsed.data;
        refs.push({
          activityGuid: r.marketoGUID,
          marketoLeadId: r.leadId,
          externalOpportunityId: r.attributes['External Opportunity ID'],
          opportunityGuid: r.attributes['Opportunity GUID'],
          role: r.attributes.Role,
        });
      }
      await stageRoleRefs(staging, ctx.runId, refs);
      return { written: refs.length, failed: 0 };
    },
  };
}
