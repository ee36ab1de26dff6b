import { z } from 'zod';
import type { ActivityRow } from '../../src/marketo/bulk/rows.js';
import { BootstrapStaging, stageRoleRefs, type StagedRoleRef } from '../bootstrap-staging.js';
import type { IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';
import { salesObjectLoader } from '../sales-object-loader.js';

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

/** GUIDs remembered per sink (one per worker process) before the memory is dropped and Marketo is asked again. */
const REMEMBER_GUIDS = 100_000;

/**
 * Add to Opportunity activities → staged role keys (opportunity, lead, role). The activity names
 * its opportunity by Oppty ID (marketoGUID) only, while roles are keyed on externalOpportunityId:
 * the sink resolves each GUID once per run (Get Opportunities by idField, 300 a call) before
 * staging. That Get reads the whole opportunity, so the sink writes it to the CRM right there and
 * records its key as attempted: the opportunities a window names are loaded when the window
 * lands, without a second Get by external id after the last export, and the roles phase can take
 * that window's roles at once. The opportunities and roles phases read the distinct keys from the
 * staging table, so no activity row passes through workflow history and a retried window stages
 * nothing twice.
 */
export function addToOpportunitySink(deps: IngestSinkDeps): IngestSinkImpl<'activities'> {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  const loader = salesObjectLoader(deps);
  // run + GUID → externalOpportunityId (null: Marketo no longer has the opportunity), only once
  // the opportunity's write is done (written, or refused into the ledger): a key resolved in
  // another run, or whose write threw (the batch is retried), is read again.
  const externalIds = new Map<string, string | null>();
  const memo = (runId: string, guid: string) => `${runId}\u0000${guid}`;

  /** GUID → externalOpportunityId for every GUID of the batch, reading (and writing) the ones this run has not seen. */
  async function resolve(runId: string, guids: readonly string[]): Promise<{ ids: Map<string, string | null>; apiCalls: number; written: number; failed: number }> {
    const out = { ids: new Map<string, string | null>(), apiCalls: 0, written: 0, failed: 0 };
    const unknown: string[] = [];
    for (const g of new Set(guids)) {
      const known = externalIds.get(memo(runId, g));
      if (known === undefined) unknown.push(g);
      else out.ids.set(g, known);
    }
    if (unknown.length === 0) return out;
    const fields = [...new Set([...(await loader.mapping('opportunity')).fields, 'marketoGUID', 'externalOpportunityId'])];
    for (let i = 0; i < unknown.length; i += PER_CALL) {
      const values = unknown.slice(i, i + PER_CALL);
      const page = await deps.marketo.opportunities.get({ filterType: 'idField', filterValues: values, fields });
      out.apiCalls += 1;
      for (const g of values) out.ids.set(g, null);
      for (const o of page.items) if (typeof o.marketoGUID === 'string') out.ids.set(o.marketoGUID, text.parse(o.externalOpportunityId));
      const keys = [...new Set(values.map((g) => out.ids.get(g)).filter((k): k is string => typeof k === 'string'))];
      const wrote = await loader.writeFetched(runId, 'opportunity', keys, page.items);
      out.written += wrote.written;
      out.failed += wrote.failed;
      if (externalIds.size + values.length > REMEMBER_GUIDS) externalIds.clear();
      for (const g of values) externalIds.set(memo(runId, g), out.ids.get(g) ?? null);
    }
    return out;
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
      const loaded = await resolve(ctx.runId, parsed.flatMap((r) => (r.attributes['Oppty ID'] === null ? [] : [r.attributes['Oppty ID']])));
      const refs: StagedRoleRef[] = parsed.map((r) => {
        const guid = r.attributes['Oppty ID'];
        return {
          activityGuid: r.marketoGUID,
          marketoLeadId: r.leadId,
          externalOpportunityId: guid === null ? null : (loaded.ids.get(guid) ?? null),
          opportunityGuid: guid,
          role: r.attributes.Role,
        };
      });
      await stageRoleRefs(staging, ctx.runId, refs);
      // `written` stays the refs staged: the ingest's summary has no place for another kind's
      // records yet (its `loaded` takes the lead preload's kinds only). Refused opportunities are
      // ledgered by the write and counted as failed.
      return { written: refs.length, failed: loaded.failed, apiCalls: loaded.apiCalls };
    },
  };
}
