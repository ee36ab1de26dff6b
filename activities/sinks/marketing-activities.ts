import { ApplicationFailure } from '@temporalio/common';
import type { ActivityRow } from '../../src/marketo/bulk/rows.js';
import type { MarketoClient } from '../../src/marketo/index.js';
import { activityLeadId, activityRecord } from '../../src/marketing/activity-record.js';
import type { ExportSource, ExportWindow } from '../../workflows/bootstrap-types.js';
import type { IngestBatchContext, IngestBatchOutcome, IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';
import { buildAll, personLinks, upsertAndLedger } from '../marketing-writes.js';
import { MARKETING_ACTIVITIES_SINK } from '../../src/marketing/sink-names.js';

export { MARKETING_ACTIVITIES_SINK };

/**
 * Activity type names (`GET /rest/v1/activities/types.json`, one call) for the `activity_type`
 * column. Kept per worker: Marketo suggests caching types for a day and a bootstrap is shorter.
 */
export function activityTypeNames(marketo: MarketoClient): () => Promise<{ names: Map<number, string>; calls: number }> {
  let cached: Promise<Map<number, string>> | undefined;
  return async () => {
    if (cached) return { names: await cached, calls: 0 };
    cached = marketo.activities.types().then((types) => new Map(types.map((t) => [t.id, t.name])));
    cached.catch(() => {
      cached = undefined;
    });
    return { names: await cached, calls: 1 };
  };
}

/**
 * Bulk activity export rows → CRM `activity` records (marketing_activities, keyed on
 * `marketo_guid`), linked to the CRM lead or contact of the activity's lead.
 */
export function marketingActivitiesSink(deps: IngestSinkDeps): IngestSinkImpl<'activities'> {
  const typeNames = activityTypeNames(deps.marketo);
  return {
    rowKind: 'activities',
    exportRequest(source: ExportSource, window: ExportWindow): Promise<Record<string, unknown>> {
      if (source.kind !== 'activities') throw ApplicationFailure.nonRetryable(`sink ${MARKETING_ACTIVITIES_SINK} takes activity exports, not ${source.kind}`);
      if (source.activityTypeIds.length === 0) throw ApplicationFailure.nonRetryable('an activity export needs at least one activity type id (none would export every type)');
      // Default columns (all eight); createdAt is the only date filter an activity export has.
      return Promise.resolve({ format: 'CSV', filter: { createdAt: { startAt: window.startAt, endAt: window.endAt }, activityTypeIds: source.activityTypeIds } });
    },
    async write(rows: ActivityRow[], _ctx: IngestBatchContext): Promise<IngestBatchOutcome> {
      const { names, calls } = await typeNames();
      const people = await personLinks(deps.store, rows.map(activityLeadId).filter((id): id is number => id !== undefined));
      const { built, refused } = buildAll(
        rows,
        'activity',
        (row) => row.marketoGUID ?? '(no marketoGUID)',
        (row) => {
          const leadId = activityLeadId(row);
          return activityRecord(row, { typeName: row.activityTypeId === undefined ? null : names.get(row.activityTypeId), person: leadId === undefined ? undefined : people.get(leadId) });
        },
      );
      const out = await upsertAndLedger(deps, 'activity', 'marketo_guid', built, refused);
      return { written: out.written, failed: out.failed, apiCalls: calls };
    },
  };
}
