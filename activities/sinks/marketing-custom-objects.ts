import { ApplicationFailure } from '@temporalio/common';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import type { ExportSource, ExportWindow } from '../../workflows/bootstrap-types.js';
import type { IngestBatchContext, IngestBatchOutcome, IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';
import { customObjectPlans } from '../marketing-custom-objects.js';
import { buildAll, personLinks, upsertAndLedger } from '../marketing-writes.js';
import { MARKETING_CUSTOM_OBJECTS_SINK } from '../../src/marketing/sink-names.js';

export { MARKETING_CUSTOM_OBJECTS_SINK };

/**
 * Bulk custom object export rows → the provisioned CRM entity `custom:<name>`, mapped with the
 * saved mapping, upserted on the dedupe field's column (or `marketo_guid` for compound keys),
 * linked to the CRM person of the parent lead when the object hangs off leads by id.
 */
export function marketingCustomObjectsSink(deps: IngestSinkDeps): IngestSinkImpl<'customObjects'> {
  const plans = customObjectPlans(deps);
  const apiNameOf = (source: ExportSource): string => {
    if (source.kind !== 'customObjects') throw ApplicationFailure.nonRetryable(`sink ${MARKETING_CUSTOM_OBJECTS_SINK} takes custom object exports, not ${source.kind}`);
    return source.apiName;
  };
  return {
    rowKind: 'customObjects',
    async exportRequest(source: ExportSource, window: ExportWindow): Promise<Record<string, unknown>> {
      const { plan } = await plans(apiNameOf(source));
      // Custom object exports filter on updatedAt (no createdAt filter exists): the window is the
      // phase's low watermark to the bootstrap's high watermark, cut to ≤ 31 days.
      return { format: 'CSV', fields: plan.exportFields, filter: { updatedAt: { startAt: window.startAt, endAt: window.endAt } } };
    },
    async write(rows: RecordRow[], ctx: IngestBatchContext): Promise<IngestBatchOutcome> {
      const { plan, calls } = await plans(apiNameOf(ctx.source));
      const people = await personLinks(deps.store, rows.flatMap((r) => {
        const id = plan.leadId(r);
        return id === undefined ? [] : [id];
      }));
      const { built, refused } = buildAll(rows, plan.crmEntity, plan.recordKey, (row) => {
        const leadId = plan.leadId(row);
        return plan.toRecord(row, leadId === undefined ? undefined : people.get(leadId));
      });
      const out = await upsertAndLedger(deps, plan.crmEntity, plan.keyField, built, refused);
      return { written: out.written, failed: out.failed, apiCalls: calls };
    },
  };
}
