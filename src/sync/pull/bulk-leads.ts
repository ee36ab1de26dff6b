import { BulkExtractApi } from '../../marketo/bulk/extract.js';
import type { RecordRow } from '../../marketo/bulk/rows.js';
import { formatMarketoDateTime } from '../../marketo/dates.js';
import { planWindows } from '../../marketo/bulk/windows.js';
import type { MarketoClient } from '../../marketo/index.js';

/**
 * Leads whose fields changed in [startAt, endAt], by Bulk Lead Extract on `updatedAt` (one job
 * per ≤31-day window, both ends inclusive), handed to `onBatch` in batches of `batchRows` while
 * the file downloads (the download waits for each batch: a large catch-up never sits in memory).
 * Returns the calls made: per window one create, one enqueue, the status polls and one file
 * download (plus reconnects).
 */
export async function extractUpdatedLeads(
  marketo: MarketoClient,
  fields: readonly string[],
  range: { startAt: Date; endAt: Date },
  options: { pollIntervalMs: number; batchRows?: number },
  onBatch: (rows: RecordRow[]) => Promise<void>,
): Promise<{ rows: number; calls: number; jobs: number }> {
  const api = new BulkExtractApi(marketo);
  const size = options.batchRows ?? 2_000;
  let buffer: RecordRow[] = [];
  let rows = 0;
  let calls = 0;
  const windows = planWindows({ startAt: formatMarketoDateTime(range.startAt), endAt: formatMarketoDateTime(range.endAt) });
  for (const window of windows) {
    const summary = await api.run(
      { kind: 'leads' },
      { format: 'CSV', fields: [...fields], filter: { updatedAt: window } },
      { pollIntervalMs: options.pollIntervalMs, queueFullRetryMs: options.pollIntervalMs, onStatus: () => void calls++ },
      async (row) => {
        rows++;
        buffer.push(row);
        if (buffer.length < size) return;
        const full = buffer;
        buffer = [];
        await onBatch(full);
      },
    );
    calls += 3 + summary.reconnects;
  }
  if (buffer.length > 0) await onBatch(buffer);
  return { rows, calls, jobs: windows.length };
}
