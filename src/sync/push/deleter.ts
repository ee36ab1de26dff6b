import type { CrmEntityName } from '../../crm/connector.js';
import type { MarketoRecord } from '../../mapping/apply.js';
import type { MarketoObjectName } from '../../mapping/marketo-schema.js';
import type { ObjectApi, RecordOutcome } from '../../marketo/index.js';
import { chunks, type PushTally } from './tally.js';

/** One Marketo object to delete, found either by its Marketo id (GUID/id) or by its dedupe fields. */
export interface DeleteKey {
  crmId: string;
  by: 'idField' | 'dedupeFields';
  key: MarketoRecord;
  /** The id map entry to drop once Marketo no longer has the record. */
  marketoId?: string;
}

/** Marketo's "not found" for objects: the record is already gone, which is what a delete wants. */
const ALREADY_GONE = new Set(['1013']);

/**
 * Deletes Marketo objects, 300 a call, grouped by how they are identified. A record Marketo
 * refuses to delete (e.g. 1022 "Object in use": a salesperson leads still point at) is
 * ledgered with operation `push-delete`, so a later run can try it again.
 */
export async function deleteObjects(
  target: { marketo: Exclude<MarketoObjectName, 'lead'>; crm: CrmEntityName; api: ObjectApi },
  keys: readonly DeleteKey[],
  tally: PushTally,
  options: { batchSize: number },
): Promise<{ calls: number; deleted: string[] }> {
  let calls = 0;
  const deleted: string[] = [];
  for (const by of ['idField', 'dedupeFields'] as const) {
    for (const batch of chunks(keys.filter((k) => k.by === by), options.batchSize)) {
      calls++;
      const outcomes: RecordOutcome[] = await target.api.delete({ deleteBy: by, input: batch.map((k) => k.key) });
      const gone: string[] = [];
      outcomes.forEach((o, i) => {
        const k = batch[i]!;
        const done = o.status === 'deleted' || (o.status === 'skipped' && o.reasons.some((r) => ALREADY_GONE.has(r.code)));
        if (!done) {
          tally.skip(target.crm, k.crmId, o.reasons);
          return;
        }
        tally.ok(target.crm, k.crmId);
        deleted.push(k.crmId);
        const marketoId = k.marketoId ?? (o.id !== undefined ? String(o.id) : o.marketoGUID);
        if (marketoId !== undefined) gone.push(marketoId);
      });
      tally.unlink(target.marketo, gone);
    }
  }
  return { calls, deleted };
}
