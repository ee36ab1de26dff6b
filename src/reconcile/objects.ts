import type { CrmEntityName, CrmRecord } from '../crm/connector.js';
import type { MarketoObjectName } from '../mapping/marketo-schema.js';
import type { MarketoObject } from '../marketo/index.js';
import type { ReconcileContext } from './context.js';
import { FieldComparer, type RefResolver } from './fields.js';
import { emptyReport, KeyedComparison, type EntityReport, type FieldMismatch } from './report.js';

/** How one Marketo object type lines up with one CRM entity. */
export interface ObjectSpec {
  /** Report name (`companies`, `roles`, `customObject:purchase_c`). */
  name: string;
  marketo: MarketoObjectName;
  crm: CrmEntityName;
  /** The Marketo record's key and id; undefined key = not comparable (skipped with a note). */
  marketoKey(m: MarketoObject): string | undefined;
  marketoId(m: MarketoObject): string;
  crmKey(r: CrmRecord): string;
  /** CRM fields that form the key (compared through the key, not as fields). */
  keyCrmFields: readonly string[];
  refs?: Partial<Record<string, RefResolver>>;
  /**
   * Reads the Marketo side, given the CRM keys (so CRM records are always looked up) and the
   * fields the comparison needs.
   */
  fetch(crmKeys: string[], fields: string[]): Promise<MarketoObject[]>;
  /** Extra checks beyond the mapped fields (e.g. a role's stored marketoGUID). */
  extraCompare?(m: MarketoObject, c: CrmRecord): string[];
  notes?: string[];
}

/**
 * Reconciles one object type: every CRM record by its key, every Marketo record the spec's
 * fetch finds, mapped fields compared through the sync's own transforms.
 */
export async function reconcileObjects(ctx: ReconcileContext, spec: ObjectSpec): Promise<EntityReport> {
  const started = ctx.calls();
  const report = emptyReport(spec.name);
  report.notes.push(...(spec.notes ?? []));
  if (!(await ctx.crmHas(spec.crm))) {
    report.notes.push(`the CRM has no entity ${spec.crm}: nothing compared`);
    return report;
  }
  const [config, schemas, describe] = await Promise.all([ctx.mapping(), ctx.schemas(), ctx.crmDescribe()]);
  const comparer = FieldComparer.build(config, spec.marketo, spec.crm, schemas, describe, { skipCrm: spec.keyCrmFields, refs: spec.refs });
  if (!comparer.mapped) report.notes.push(`no enabled mapping ${spec.marketo} ⇄ ${spec.crm}: keys compared, fields not`);
  const cmp = new KeyedComparison<MarketoObject, CrmRecord>(report, ctx.sample);
  for (const r of await ctx.crmRecords(spec.crm)) cmp.addCrm(spec.crmKey(r), String(r.id), r);
  const records = await spec.fetch([...cmp.crmKeys()], comparer.marketoFields);
  let unkeyed = 0;
  for (const m of records) {
    const key = spec.marketoKey(m);
    if (key === undefined) unkeyed += 1;
    else cmp.addMarketo(key, spec.marketoId(m), m);
  }
  if (unkeyed > 0) report.notes.push(`${unkeyed} Marketo record(s) without a complete key were skipped`);
  cmp.run((m, c, key) => {
    const diff = comparer.compare(m, c, key, ctx.showValues);
    const extra = spec.extraCompare?.(m, c) ?? [];
    if (extra.length === 0) return diff;
    const merged: FieldMismatch = diff ?? { key, fields: [] };
    merged.fields.push(...extra);
    return merged;
  });
  report.apiCalls = ctx.calls() - started;
  return report;
}
