import type { CrmRecord } from '../crm/connector.js';
import { ActivityRecordError, activityRecord } from '../marketing/activity-record.js';
import { BulkExtractApi } from '../marketo/bulk/extract.js';
import { planWindows } from '../marketo/bulk/windows.js';
import { sameValue } from './compare.js';
import type { ReconcileContext } from './context.js';
import type { LeadScanOptions } from './lead-scan.js';
import { emptyReport, KeyedComparison, note, type EntityReport, type FieldMismatch } from './report.js';

/** Delete Lead (37) cannot be bulk-extracted; its records come from Get Deleted Leads and are pruned after ~14 days. */
const DELETE_LEAD = 37;
/** Columns that depend on the CRM's person records (id map, conversions), not on the activity. */
const SKIP = new Set(['lead_id', 'contact_id']);

/**
 * Activities of the given types created in [since, until]: counts per type on each side and a
 * keyed comparison by marketoGUID. Marketo's side comes from bulk activity exports (≤31-day
 * windows); each row is built into the CRM record the sync writes (src/marketing) and compared
 * column by column. Without `activityTypeIds` the types the CRM holds are compared.
 */
export async function reconcileActivities(ctx: ReconcileContext, window: LeadScanOptions, typeIds: number[] | undefined): Promise<EntityReport> {
  const started = ctx.calls();
  const report = emptyReport('activities');
  if (!(await ctx.crmHas('activity'))) {
    report.notes.push('the CRM has no activity entity: nothing compared');
    return report;
  }
  const from = Date.parse(window.since);
  const to = Date.parse(window.until);
  const inWindow = (r: CrmRecord) => {
    const at = Date.parse(String(r.activity_date));
    return at >= from && at <= to;
  };
  const crmAll = (await ctx.crmRecords('activity')).filter(inWindow);
  const wanted = [...new Set(typeIds ?? crmAll.map((r) => Number(r.activity_type_id)))].filter((t) => t !== DELETE_LEAD).sort((a, b) => a - b);
  if (typeIds?.includes(DELETE_LEAD)) report.notes.push('Delete Lead (37) is not exportable in bulk: not compared');
  if (wanted.length === 0) {
    report.notes.push('no activity types selected and the CRM holds no activities in the window: nothing compared');
    return report;
  }
  const types = new Set(wanted);
  const crm = crmAll.filter((r) => types.has(Number(r.activity_type_id)));
  const names = new Map((await ctx.deps.marketo.activities.types()).map((t) => [t.id, t.name]));
  const cmp = new KeyedComparison<CrmRecord, CrmRecord>(report, ctx.sample);
  const breakdown: Record<string, { marketo: number; crm: number }> = {};
  const count = (type: unknown, side: 'marketo' | 'crm') => ((breakdown[String(type)] ??= { marketo: 0, crm: 0 })[side] += 1);
  for (const r of crm) {
    cmp.addCrm(String(r.marketo_guid), String(r.id), r);
    count(r.activity_type_id, 'crm');
  }
  const api = new BulkExtractApi(ctx.deps.marketo);
  const poll = window.pollIntervalMs ?? 60_000;
  const windows = planWindows({ startAt: window.since, endAt: window.until }, window.maxWindowDays === undefined ? {} : { maxDays: window.maxWindowDays });
  // Marketo takes at most 10 type ids per activity export.
  for (let i = 0; i < wanted.length; i += 10) {
    const batch = wanted.slice(i, i + 10);
    for (const w of windows) {
      await api.run({ kind: 'activities' }, { format: 'CSV', filter: { createdAt: w, activityTypeIds: batch } }, { pollIntervalMs: poll, queueFullRetryMs: poll }, (row) => {
        let built: CrmRecord;
        try {
          built = activityRecord(row, { typeName: row.activityTypeId === undefined ? null : (names.get(row.activityTypeId) ?? null) });
        } catch (err) {
          // The sync cannot write such a row either: a difference, named by the field at fault.
          if (!(err instanceof ActivityRecordError)) throw err;
          note(report.mismatched, { key: String(row.marketoGUID ?? '(no marketoGUID)'), fields: [`(unreadable ${err.field})`] }, ctx.sample);
          return;
        }
        cmp.addMarketo(String(built.marketo_guid), String(built.marketo_guid), built);
        count(built.activity_type_id, 'marketo');
      });
      ctx.deps.progress?.(`activity export ${w.startAt} .. ${w.endAt}, types ${batch.join(',')} done`);
    }
  }
  cmp.run((m, c, key) => {
    const fields = Object.keys(m).filter((f) => !SKIP.has(f) && !sameValue(m[f], c[f]));
    if (fields.length === 0) return undefined;
    const diff: FieldMismatch = { key, fields };
    if (ctx.showValues) diff.values = Object.fromEntries(fields.map((f) => [f, { marketo: m[f], crm: c[f] }]));
    return diff;
  });
  report.breakdown = breakdown;
  report.notes.push(`activity types ${wanted.join(', ')} created ${window.since} .. ${window.until}, read by ${windows.length * Math.ceil(wanted.length / 10)} bulk export(s); key = marketoGUID`);
  report.apiCalls = ctx.calls() - started;
  return report;
}
