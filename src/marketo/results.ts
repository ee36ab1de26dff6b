import { z } from 'zod';
import { classify } from './classification.js';
import type { Envelope, RecordReason, RecordResult, RecordStatus } from './envelope.js';
import { MarketoApiError } from './errors.js';

/**
 * The outcome of one input record of a batch write, in input order. A skipped record is an outcome, not an
 * exception: `reasons` says why, and the caller files it (error ledger) and carries on.
 */
export interface RecordOutcome {
  /** Index of the input record this outcome belongs to. */
  seq: number;
  status: RecordStatus;
  /** Empty unless skipped. */
  reasons: RecordReason[];
  /** Key of the written record: `id` (leads, companies, salespersons) or `marketoGUID` (GUID objects). */
  id?: number;
  marketoGUID?: string;
  /** Any other key Marketo returns (e.g. `leadId` for program members). */
  [key: string]: unknown;
}

/**
 * Aligns per-record results with the input. Lead endpoints omit `seq` (order is the contract); object
 * endpoints send it. A count or seq mismatch means records would be silently lost, so it fails loudly.
 */
export function toOutcomes(envelope: Envelope<RecordResult>, inputCount: number, endpoint: string): RecordOutcome[] {
  const results = envelope.result ?? [];
  const fail = (detail: string) =>
    new MarketoApiError({
      code: 'INVALID_RESPONSE',
      message: detail,
      endpoint,
      source: 'response',
      requestId: envelope.requestId,
      classification: classify('INVALID_RESPONSE'),
    });
  if (results.length !== inputCount) throw fail(`expected ${inputCount} per-record results, got ${results.length}`);
  const outcomes = results.map((r, index) => ({ ...r, seq: r.seq ?? index, reasons: r.reasons ?? [] }) as RecordOutcome);
  outcomes.sort((a, b) => a.seq - b.seq);
  outcomes.forEach((o, i) => {
    if (o.seq !== i) throw fail(`per-record seq values are not 0..${inputCount - 1}`);
  });
  return outcomes;
}

/** Input guard shared by every batch write: Marketo takes 1–300 records a call. */
export const batchInput = <T extends z.ZodType>(record: T) => z.array(record).min(1, 'input is empty').max(300, 'at most 300 records per call');

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
