import type { CrmEntityName, CrmRecord } from '../../crm/connector.js';
import { compileToMarketo, type MarketoRecord, type ToMarketoOptions } from '../../mapping/apply.js';
import type { MarketoObjectName } from '../../mapping/marketo-schema.js';
import type { ObjectApi, RecordOutcome } from '../../marketo/index.js';
import type { PushContext } from './context.js';
import type { KeyResolver } from './marketo-keys.js';
import { integralDecimalFields, normalizeCrmRecord } from './normalize.js';
import { chunks, type PushTally } from './tally.js';

/** A Marketo object type fed from one CRM entity. */
export interface ObjectTarget {
  marketo: Exclude<MarketoObjectName, 'lead'>;
  crm: CrmEntityName;
  api: ObjectApi;
}

export interface ObjectWriteResult {
  calls: number;
  /** CRM id → outcome of each record Marketo created or updated. */
  written: Map<string, RecordOutcome>;
}

export function mappingEnabled(context: PushContext, marketo: MarketoObjectName, crm: string): boolean {
  return context.config.entities.some((e) => e.marketo === marketo && e.crm === crm && e.enabled);
}

/** Marketo key of a written object: `id` (companies, salespersons) or `marketoGUID`. */
export function outcomeKey(o: RecordOutcome): string | undefined {
  return o.id !== undefined ? String(o.id) : o.marketoGUID;
}

/**
 * Maps CRM records to a Marketo object type (only fields whose direction allows CRM → Marketo)
 * and creates or updates them by their dedupe fields, 300 per call. A record the mapping
 * refuses, or Marketo skips, is ledgered; the others are written and linked in the id map.
 */
export async function upsertObjects(
  context: PushContext,
  target: ObjectTarget,
  records: readonly CrmRecord[],
  tally: PushTally,
  options: {
    batchSize: number;
    toMarketo?: ToMarketoOptions;
    keys?: KeyResolver;
    /** Fills what the mapping cannot (a custom object's link to its lead); returns errors to ledger the record. */
    complete?: (source: CrmRecord, out: MarketoRecord) => string[] | undefined;
  },
): Promise<ObjectWriteResult> {
  const map = compileToMarketo(context.config, target.crm, target.marketo, context.schemas, context.describe, options.toMarketo);
  const integral = integralDecimalFields(context, target.crm, target.marketo);
  const ready: { crmId: string; record: MarketoRecord }[] = [];
  for (const record of records) {
    const crmId = String(record.id);
    const mapped = map(normalizeCrmRecord(options.keys ? options.keys(record) : record, integral));
    const errors = mapped.ok ? options.complete?.(record, mapped.record) : mapped.errors;
    if (errors && errors.length > 0) tally.fail(target.crm, crmId, 'crm', 'MAPPING', errors.join('; '));
    else ready.push({ crmId, record: mapped.record });
  }
  const written = new Map<string, RecordOutcome>();
  let calls = 0;
  for (const batch of chunks(ready, options.batchSize)) {
    calls++;
    const outcomes = await target.api.sync({ action: 'createOrUpdate', dedupeBy: 'dedupeFields', input: batch.map((b) => b.record) });
    outcomes.forEach((o, i) => {
      const { crmId } = batch[i]!;
      const key = outcomeKey(o);
      if (o.status === 'skipped' || key === undefined) {
        tally.skip(target.crm, crmId, o.reasons);
        return;
      }
      written.set(crmId, o);
      tally.ok(target.crm, crmId, { entity: target.marketo, marketoId: key, crmType: target.crm });
    });
  }
  return { calls, written };
}
