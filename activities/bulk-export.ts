import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { CrmConnector } from '../src/crm/connector.js';
import { BulkExtractApi, isQueueFull, type ExportTarget } from '../src/marketo/bulk/extract.js';
import { ChecksumMismatchError, downloadExport, downloadPositionSchema } from '../src/marketo/bulk/download.js';
import { exportFormatSchema } from '../src/marketo/bulk/formats.js';
import type { ExportRequestByKind } from '../src/marketo/bulk/export-requests.js';
import type { MalformedRow } from '../src/marketo/bulk/parser.js';
import type { ExportKind, RowByKind } from '../src/marketo/bulk/rows.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import { isMarketoApiError, type MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import type { ExportSource, ExportWindow, IngestSink, IngestSummary } from '../workflows/bootstrap-types.js';
import { marketoCall } from './failures.js';
import { BootstrapStaging } from './bootstrap-staging.js';
import type { IngestBatchOutcome, IngestSinkFactory, IngestSinkImpl } from './ingest-sink.js';
import { BOOTSTRAP_SINKS } from './sinks/index.js';

export interface BulkExportActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** Rows per CRM write and per heartbeat (each heartbeat marks a committed position). */
  batchSize?: number;
  /** Batch writes of one download in flight at once (default 2), besides the batch being filled. */
  writeConcurrency?: number;
  /** Sinks beyond the built-in ones (activities/sinks/index.ts), by name; e.g. the marketing sinks. */
  sinks?: Record<string, IngestSinkFactory>;
}

export interface ExportJobView {
  exportId: string;
  status: 'Created' | 'Queued' | 'Processing' | 'Completed' | 'Failed' | 'Cancelled';
  numberOfRecords?: number;
  fileSize?: number;
  fileChecksum?: string;
  format?: 'CSV' | 'TSV' | 'SSV';
  errorMsg?: string;
}

export type EnqueueOutcome =
  | { queueFull: false; job: ExportJobView }
  | { queueFull: true; retryAfterMs: number }
  /** The Created job is gone (expired while the queue or the quota kept it waiting): create it again. */
  | { queueFull: false; missing: true };

export interface IngestInput {
  source: ExportSource;
  sink: IngestSink;
  runId: string;
  job: ExportJobView;
}

/** What a download heartbeats: the last position whose rows are committed in the CRM, and the counts so far. */
const progressSchema = z.object({
  position: downloadPositionSchema,
  written: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  apiCalls: z.number().int().nonnegative(),
});
type IngestProgress = z.infer<typeof progressSchema>;

/** A batch handed to the sink: committed (`outcome` set) or still writing. */
interface InFlightWrite {
  /** The file position just past the batch's last line. */
  end: IngestProgress['position'];
  written: Promise<void>;
  outcome?: IngestBatchOutcome;
}

function targetOf(source: ExportSource): ExportTarget {
  return source.kind === 'customObjects' ? { kind: 'customObjects', apiName: source.apiName } : { kind: source.kind };
}

/** The ledger's entity for a line of an export file that could not be read as a record of its kind. */
function ledgerEntity(source: ExportSource): string {
  switch (source.kind) {
    case 'leads':
      return 'lead';
    case 'activities':
      return 'activity';
    case 'programMembers':
      return 'programMember';
    case 'customObjects':
      return source.apiName;
  }
}

/**
 * A malformed line as a ledger entry: keyed by export and record number (stable across resumed
 * downloads, so a re-read counts one more attempt instead of a second entry), the reason names
 * cells and fields only: the line's values may be lead data and are never copied.
 */
function malformedFailure(source: ExportSource, exportId: string, bad: MalformedRow, record: number): RecordFailure {
  return {
    entity: ledgerEntity(source),
    recordKey: `export ${exportId} record ${record}`,
    operation: 'bootstrap',
    source: 'marketo',
    code: 'MALFORMED_ROW',
    reason: `export ${exportId}: data record ${record} (ends at byte ${bad.end}) skipped: ${bad.reason}`,
  };
}

function view(job: { exportId: string; status: ExportJobView['status']; numberOfRecords?: number | undefined; fileSize?: number | undefined; fileChecksum?: string | undefined; format?: ExportJobView['format'] | undefined; errorMsg?: string | undefined }): ExportJobView {
  const out: ExportJobView = { exportId: job.exportId, status: job.status };
  if (job.numberOfRecords !== undefined) out.numberOfRecords = job.numberOfRecords;
  if (job.fileSize !== undefined) out.fileSize = job.fileSize;
  if (job.fileChecksum !== undefined) out.fileChecksum = job.fileChecksum;
  if (job.format !== undefined) out.format = job.format;
  if (job.errorMsg !== undefined) out.errorMsg = job.errorMsg;
  return out;
}

/**
 * Bulk export steps as activities: each call is one Marketo request (create, enqueue, status) so
 * the workflow owns every wait on durable timers; the download streams straight into the CRM.
 */
export function createBulkExportActivities(deps: BulkExportActivityDeps) {
  const api = new BulkExtractApi(deps.marketo);
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  const batchSize = deps.batchSize ?? 1000;
  const writeConcurrency = deps.writeConcurrency ?? 2;
  // Built once per worker process: a sink may cache what every window needs (e.g. the mapping).
  const sinks = new Map<string, IngestSinkImpl>(Object.entries({ ...BOOTSTRAP_SINKS, ...deps.sinks }).map(([name, make]) => [name, make(deps)]));
  const sinkFor = (name: IngestSink, source: ExportSource): IngestSinkImpl => {
    const sink = sinks.get(name);
    if (!sink) throw ApplicationFailure.nonRetryable(`no ingest sink named '${name}' (registered: ${[...sinks.keys()].join(', ')})`, 'UnknownSink');
    if (sink.rowKind !== source.kind) throw ApplicationFailure.nonRetryable(`sink '${name}' takes ${sink.rowKind} rows, not ${source.kind}`, 'SinkMismatch');
    return sink;
  };

  return {
    async createBulkExport(input: { source: ExportSource; sink?: IngestSink; window: ExportWindow }): Promise<ExportJobView> {
      // Histories recorded before sinks existed name no sink: those were all lead windows.
      const sink = sinkFor(input.sink ?? 'leads', input.source);
      return marketoCall(async () => {
        const request = (await sink.exportRequest(input.source, input.window)) as ExportRequestByKind[ExportKind];
        return view(await api.create(targetOf(input.source), request));
      });
    },

    /** Enqueues; a full queue (1029) is an answer, not a failure, so the workflow can wait on a timer. */
    async enqueueBulkExport(input: { source: ExportSource; exportId: string; queueFullMs: number }): Promise<EnqueueOutcome> {
      return marketoCall(async () => {
        try {
          return { queueFull: false, job: view(await api.enqueue(targetOf(input.source), input.exportId)) };
        } catch (err) {
          if (isQueueFull(err)) return { queueFull: true, retryAfterMs: input.queueFullMs };
          if (isMarketoApiError(err) && err.code === '1003' && /not found/i.test(err.marketoMessage)) return { queueFull: false, missing: true };
          throw err;
        }
      });
    },

    async bulkExportStatus(input: { source: ExportSource; exportId: string }): Promise<ExportJobView> {
      return marketoCall(async () => view(await api.status(targetOf(input.source), input.exportId)));
    },

    /**
     * Downloads a Completed export and writes its rows through the sink in batches. Whenever the
     * committed batches reach further into the file it heartbeats the position; a retry (worker
     * crash, timeout) resumes from the last heartbeat, so at most `writeConcurrency` batches are
     * written twice, and writes are idempotent.
     */
    async ingestBulkExport(input: IngestInput): Promise<IngestSummary> {
      return marketoCall(async () => {
        const ctx = Context.current();
        const startedAt = Date.now();
        const details: unknown = ctx.info.heartbeatDetails;
        const resumed = details === undefined ? undefined : progressSchema.parse(details);
        const progress: IngestProgress = resumed ?? { position: { byteOffset: 0, rows: 0 }, written: 0, failed: 0, apiCalls: 0 };
        const sink = sinkFor(input.sink, input.source);
        const target = targetOf(input.source);
        const opener = api.fileOpener(target, input.job.exportId);
        let calls = 0;
        const open = (start: number, end?: number) => {
          calls += 1;
          return opener(start, end);
        };
        let batch: RowByKind[ExportKind][] = [];
        let malformed: RecordFailure[] = [];
        let batchEnd = progress.position;
        // Batches are written while the next ones download and parse, up to `writeConcurrency` at
        // once. They may finish out of order, but a heartbeat only ever marks the end of the
        // longest run of committed batches from the file's start, so a resume re-reads nothing lost.
        const inflight: InFlightWrite[] = [];
        let writeMs = 0;
        let busySince = 0;
        const commitFinished = (): void => {
          let advanced = false;
          while (inflight[0]?.outcome) {
            const done = inflight.shift()!;
            progress.written += done.outcome!.written;
            progress.failed += done.outcome!.failed;
            progress.apiCalls += done.outcome!.apiCalls ?? 0;
            progress.position = done.end;
            advanced = true;
          }
          if (inflight.length === 0) writeMs += Date.now() - busySince;
          if (advanced) ctx.heartbeat({ ...progress, apiCalls: progress.apiCalls + calls });
        };
        const flush = async (): Promise<void> => {
          if (batch.length === 0 && malformed.length === 0) return;
          const rows = batch;
          const bad = malformed;
          const end = batchEnd;
          batch = [];
          malformed = [];
          // Bounded: at most writeConcurrency batches wait in memory besides the one being filled.
          while (inflight.length >= writeConcurrency) await inflight[0]!.written;
          if (inflight.length === 0) busySince = Date.now();
          const entry: InFlightWrite = { end, written: Promise.resolve() };
          entry.written = (async () => {
            // Malformed lines are in the ledger before any heartbeat passes them.
            const [outcome] = await Promise.all([
              rows.length > 0 ? sink.write(rows, { runId: input.runId, source: input.source }) : Promise.resolve<IngestBatchOutcome>({ written: 0, failed: 0 }),
              bad.length > 0 ? deps.store.errors.record(bad) : undefined,
            ]);
            entry.outcome = { ...outcome, failed: outcome.failed + bad.length };
            commitFinished();
          })();
          // Awaited when the window is full or at the end; until then a failure must not count as unhandled.
          entry.written.catch(() => undefined);
          inflight.push(entry);
        };
        // Rethrows the first failed write (in file order) once everything before it is committed.
        const drain = async (): Promise<void> => {
          while (inflight.length > 0) await inflight[0]!.written;
        };
        const download = downloadExport(
          {
            open,
            kind: input.source.kind,
            format: exportFormatSchema.parse(input.job.format ?? 'CSV'),
            expectedSize: input.job.fileSize,
            expectedChecksum: input.job.fileChecksum,
            from: resumed?.position,
            signal: ctx.cancellationSignal,
            onMalformed: (bad, position) => {
              malformed.push(malformedFailure(input.source, input.job.exportId, bad, position.rows));
              batchEnd = position;
              return malformed.length >= batchSize ? flush() : undefined;
            },
          },
          // Not async: a promise per row would cost a microtask hop each; only a full batch is awaited.
          (row, position) => {
            batch.push(row);
            batchEnd = position;
            return batch.length >= batchSize ? flush() : undefined;
          },
        );
        let summary: Awaited<typeof download>;
        try {
          summary = await download;
        } catch (err) {
          if (!(err instanceof ChecksumMismatchError)) throw err;
          // Rows already written came from bytes that did not hash right, and a resume would re-read only
          // the tail: the retry must read the whole file again (writes are upserts, so that is harmless).
          await Promise.allSettled(inflight.map((w) => w.written));
          ctx.heartbeat({ position: { byteOffset: 0, rows: 0 }, written: 0, failed: 0, apiCalls: progress.apiCalls + calls });
          throw err;
        }
        await flush();
        await drain();
        return {
          rows: summary.rows,
          malformed: summary.malformed,
          bytes: summary.bytes,
          written: progress.written,
          failed: progress.failed,
          apiCalls: progress.apiCalls + calls,
          resumedFrom: resumed ? resumed.position.byteOffset : 0,
          ingestMs: Date.now() - startedAt,
          startedAt,
          finishedAt: Date.now(),
          writeMs,
        };
      });
    },

    async stagedPeople(input: { runId: string }): Promise<number> {
      return staging.count(input.runId);
    },
  };
}

export type BulkExportActivities = ReturnType<typeof createBulkExportActivities>;
