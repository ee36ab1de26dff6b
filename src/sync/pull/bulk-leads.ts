import { BulkExtractApi } from '../../marketo/bulk/extract.js';
import { refetchMalformedLeads, type MalformedRecord } from '../../marketo/bulk/lead-refetch.js';
import { malformedLineEntry } from '../../marketo/bulk/malformed-entry.js';
import type { RecordRow } from '../../marketo/bulk/rows.js';
import { formatMarketoDateTime } from '../../marketo/dates.js';
import { planWindows } from '../../marketo/bulk/windows.js';
import type { MarketoClient } from '../../marketo/index.js';
import type { ErrorLedgerRepository, RecordFailure } from '../../store/error-ledger.js';

export interface UpdatedLeadsOptions {
  pollIntervalMs: number;
  batchRows?: number;
  /** Where malformed lines are reported, under `operation` (the pull's). */
  ledger: Pick<ErrorLedgerRepository, 'record' | 'resolveRecords'>;
  operation: string;
  /**
   * Leads the caller writes (the others it filters out of each batch): a malformed line of a lead
   * it would not write is not fetched again. Lines without a readable id are always reported.
   */
  keep?: (leadId: string) => boolean;
  /** Told of entries before they are recorded (the step keeps their keys across its retries). */
  beforeRecord?: (entries: readonly RecordFailure[]) => Promise<void>;
}

export interface UpdatedLeadsResult {
  /** Data lines read, malformed ones included. */
  rows: number;
  /** Calls made: the extracts' and the Get Leads of re-fetched lines. */
  calls: number;
  jobs: number;
  /** Lines that could not be read, of leads the caller writes (or without a readable id). */
  malformed: number;
  /** Of those, leads fetched again by id and handed over with their batch. */
  refetched: number;
  /** Entries left open: no readable lead id, or a fetch Marketo refused for good. */
  open: number;
}

/**
 * Leads whose fields changed in [startAt, endAt], by Bulk Lead Extract on `updatedAt` (one job
 * per ≤31-day window, both ends inclusive), handed to `onBatch` in batches of `batchRows` while
 * the file downloads (the download waits for each batch: a large catch-up never sits in memory).
 *
 * A line of the file that cannot be read (bytes that are not UTF-8, a wrong cell count) does not
 * fail the run: were it to, every retry would read the same file, or the same bad bytes again, and
 * the loop's watermark would never move. A line whose lead id is readable is fetched again by id
 * through REST (Get Leads, the file's columns, ≤ 300 ids a call) and handed over with its batch,
 * as the file would have given it; the ledger keeps a resolved entry saying so. A line without a
 * readable id gets an open entry. Returns the calls made: per window one create, one enqueue, the
 * status polls and one file download (plus reconnects), and one Get Leads per batch holding
 * re-fetched lines.
 */
export async function extractUpdatedLeads(
  marketo: MarketoClient,
  fields: readonly string[],
  range: { startAt: Date; endAt: Date },
  options: UpdatedLeadsOptions,
  onBatch: (rows: RecordRow[]) => Promise<void>,
): Promise<UpdatedLeadsResult> {
  const api = new BulkExtractApi(marketo);
  const size = options.batchRows ?? 2_000;
  let buffer: RecordRow[] = [];
  let bad: MalformedRecord<RecordFailure>[] = [];
  let columns: readonly string[] = fields;
  const out: UpdatedLeadsResult = { rows: 0, calls: 0, jobs: 0, malformed: 0, refetched: 0, open: 0 };

  const flush = async (): Promise<void> => {
    const rows = buffer;
    const lines = bad;
    buffer = [];
    bad = [];
    if (lines.length === 0) {
      if (rows.length > 0) await onBatch(rows);
      return;
    }
    // Retryable failures (transport, rate limits, quota) throw: the step fails before the watermark moves.
    const again = await refetchMalformedLeads(marketo, columns, lines);
    out.calls += again.apiCalls;
    out.refetched += again.rows.length;
    out.open += again.open.length;
    await onBatch(again.rows.length > 0 ? [...rows, ...again.rows] : rows);
    await options.beforeRecord?.([...again.open, ...again.resolved]);
    await options.ledger.record(again.open);
    // Recorded only once their rows are written: a resolved entry says the lead is in the CRM.
    if (again.resolved.length > 0) {
      await options.ledger.record(again.resolved);
      await options.ledger.resolveRecords(options.operation, again.resolved.map((e) => ({ entity: e.entity, recordKey: e.recordKey })));
    }
  };

  const windows = planWindows({ startAt: formatMarketoDateTime(range.startAt), endAt: formatMarketoDateTime(range.endAt) });
  for (const window of windows) {
    const summary = await api.run(
      { kind: 'leads' },
      { format: 'CSV', fields: [...fields], filter: { updatedAt: window } },
      {
        pollIntervalMs: options.pollIntervalMs,
        queueFullRetryMs: options.pollIntervalMs,
        onStatus: () => void out.calls++,
        onMalformed: (line, position, exportId) => {
          out.rows++;
          if (line.id !== undefined && options.keep && !options.keep(line.id)) return undefined;
          out.malformed++;
          if (position.columns) columns = position.columns;
          bad.push({ bad: line, entry: malformedLineEntry('lead', options.operation, exportId, line, position.rows) });
          return buffer.length + bad.length >= size ? flush() : undefined;
        },
      },
      async (row) => {
        out.rows++;
        buffer.push(row);
        if (buffer.length + bad.length >= size) await flush();
      },
    );
    out.calls += 3 + summary.reconnects;
  }
  await flush();
  out.jobs = windows.length;
  return out;
}
