import type { Readable } from 'node:stream';
import { z } from 'zod';
import { classify, classifyHttpStatus } from '../classification.js';
import { systemClock, type Clock } from '../clock.js';
import { MarketoApiError } from '../errors.js';
import type { MarketoTransport } from '../transport.js';
import { downloadExport, type DownloadOptions, type DownloadPosition, type DownloadSummary } from './download.js';
import { exportJobSchema, TERMINAL_EXPORT_STATUSES, type ExportJob } from './export-job.js';
import { exportRequestSchemaByKind, type ExportRequestByKind } from './export-requests.js';
import type { MalformedRow } from './parser.js';
import type { ExportKind, RowByKind } from './rows.js';

/** Which extract: custom objects also need the object's API name (e.g. `car_c`). */
export type ExportTarget<K extends ExportKind = ExportKind> = K extends 'customObjects' ? { kind: K; apiName: string } : { kind: K };

const apiNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'apiName must be a custom object API name');

function exportRoot(target: ExportTarget): string {
  switch (target.kind) {
    case 'leads':
      return '/bulk/v1/leads/export';
    case 'activities':
      return '/bulk/v1/activities/export';
    case 'programMembers':
      return '/bulk/v1/program/members/export';
    case 'customObjects':
      return `/bulk/v1/customobjects/${apiNameSchema.parse((target as { apiName: string }).apiName)}/export`;
  }
}

const exportIdSchema = z.string().regex(/^[A-Za-z0-9-]+$/, 'exportId must be a Marketo export id');

/** 1029 "Job already queued": the job is where we wanted it, so enqueue is a success. */
export function isAlreadyQueued(error: unknown): boolean {
  return error instanceof MarketoApiError && error.code === '1029' && /already queued/i.test(error.marketoMessage);
}

/** 1029 "Too many jobs in queue": wait for a slot, then enqueue again. */
export function isQueueFull(error: unknown): boolean {
  return error instanceof MarketoApiError && error.code === '1029' && classify('1029', error.marketoMessage).action === 'retry-after';
}

export interface WaitOptions {
  /** Marketo refreshes status at most once a minute and asks for polls no more often than that. */
  pollIntervalMs?: number;
  /** Give up waiting after this long (the job keeps running at Marketo). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onStatus?: (job: ExportJob) => void;
}

export interface RunExportOptions extends WaitOptions {
  /** Pause between enqueue attempts while the shared queue is full (defaults to the classification's delay). */
  queueFullRetryMs?: number;
  download?: Pick<DownloadOptions<ExportKind>, 'maxReconnects' | 'signal'>;
  /**
   * Takes each line of the file that cannot become a row, with the export it came from, and the
   * download goes on. Without it such a line fails the run (the reconciliation's reads stay strict).
   */
  onMalformed?: (bad: MalformedRow, position: DownloadPosition, exportId: string) => unknown;
}

/** What a finished export run reports: counts, bytes, checksum and where the download ended. Never the records. */
export interface ExportRunSummary {
  exportId: string;
  status: ExportJob['status'];
  numberOfRecords: number;
  fileSize: number;
  fileChecksum: string;
  rows: number;
  bytes: number;
  reconnects: number;
  position: DownloadPosition;
}

export class ExportNotCompletedError extends Error {
  constructor(readonly job: ExportJob) {
    super(`bulk export ${job.exportId} ended ${job.status}${job.errorMsg ? `: ${job.errorMsg}` : ''}`);
    this.name = 'ExportNotCompletedError';
  }
}

/**
 * Bulk extract jobs (leads, activities, program members, custom objects): create, enqueue, status,
 * cancel, list, and a ranged file opener for `downloadExport`. Every call goes through the REST
 * client's transport, so auth, rate limits and error classification are the same as for REST.
 */
export class BulkExtractApi {
  constructor(
    private readonly transport: MarketoTransport,
    private readonly clock: Clock = systemClock,
  ) {}

  async create<K extends ExportKind>(target: ExportTarget<K>, request: ExportRequestByKind[K]): Promise<ExportJob> {
    const schema = exportRequestSchemaByKind[target.kind] as z.ZodType;
    const parsed = schema.safeParse(request);
    if (!parsed.success) throw new Error(`invalid ${target.kind} export request: ${z.prettifyError(parsed.error)}`);
    return this.one({ method: 'POST', path: `${exportRoot(target)}/create.json`, body: { kind: 'json', value: parsed.data } });
  }

  /** Enqueues a Created job; "Job already queued" is answered with the job's status instead of an error. */
  async enqueue(target: ExportTarget, exportId: string): Promise<ExportJob> {
    try {
      return await this.one({ method: 'POST', path: this.jobPath(target, exportId, 'enqueue') });
    } catch (error) {
      if (isAlreadyQueued(error)) return this.status(target, exportId);
      throw error;
    }
  }

  status(target: ExportTarget, exportId: string): Promise<ExportJob> {
    return this.one({ method: 'GET', path: this.jobPath(target, exportId, 'status') });
  }

  cancel(target: ExportTarget, exportId: string): Promise<ExportJob> {
    return this.one({ method: 'POST', path: this.jobPath(target, exportId, 'cancel') });
  }

  /** The caller's own jobs of the last 7 days, optionally by status (`Completed,Failed`). */
  async list(target: ExportTarget, query: { status?: string[]; batchSize?: number; nextPageToken?: string } = {}): Promise<{ jobs: ExportJob[]; nextPageToken?: string }> {
    const envelope = await this.transport.request(
      { method: 'GET', path: `${exportRoot(target)}.json`, query: { status: query.status, batchSize: query.batchSize, nextPageToken: query.nextPageToken } },
      exportJobSchema,
    );
    return envelope.nextPageToken ? { jobs: envelope.result ?? [], nextPageToken: envelope.nextPageToken } : { jobs: envelope.result ?? [] };
  }

  /**
   * Opens the file from a byte offset. A ranged read must come back 206 from exactly that offset;
   * a 404 (file not ready, unknown or expired) is not retried.
   */
  fileOpener(target: ExportTarget, exportId: string, timeoutMs = 30 * 60_000): (start: number, end?: number) => Promise<Readable> {
    const path = this.jobPath(target, exportId, 'file');
    return async (start, end) => {
      const ranged = start > 0 || end !== undefined;
      const response = await this.transport.requestStream({
        method: 'GET',
        path,
        headers: ranged ? { range: `bytes=${start}-${end ?? ''}`, accept: '*/*' } : { accept: '*/*' },
        endpoint: `GET ${exportRoot(target)}/{exportId}/file.json`,
        timeoutMs,
      });
      const expected = ranged ? 206 : 200;
      const contentRange = String(response.headers['content-range'] ?? '');
      if (response.statusCode !== expected || (ranged && !contentRange.startsWith(`bytes ${start}-`))) {
        response.body.resume();
        const { code, classification } = classifyHttpStatus(response.statusCode);
        throw new MarketoApiError({
          code,
          message: `bulk file answered HTTP ${response.statusCode}${ranged ? ` (${contentRange || 'no Content-Range'}) to bytes=${start}-` : ''}`,
          endpoint: path,
          source: 'http',
          httpStatus: response.statusCode,
          classification,
        });
      }
      return response.body;
    };
  }

  /** Polls until the job is Completed, Failed or Cancelled, and returns its last status. */
  async waitUntilDone(target: ExportTarget, exportId: string, options: WaitOptions = {}): Promise<ExportJob> {
    const interval = options.pollIntervalMs ?? 60_000;
    const deadline = options.timeoutMs === undefined ? Infinity : this.clock.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const job = await this.status(target, exportId);
      options.onStatus?.(job);
      if (TERMINAL_EXPORT_STATUSES.has(job.status)) return job;
      if (this.clock.now() + interval > deadline) throw new Error(`bulk export ${exportId} still ${job.status} after ${options.timeoutMs} ms`);
      await this.clock.sleep(interval);
    }
  }

  /** Streams a Completed job's file into `onRow`, checked against its size and checksum. */
  download<K extends ExportKind>(
    target: ExportTarget<K>,
    job: ExportJob,
    parse: {
      format?: DownloadOptions<K>['format'];
      columnHeaderNames?: Record<string, string> | undefined;
      from?: DownloadPosition | undefined;
      maxReconnects?: number;
      signal?: AbortSignal;
      onMalformed?: DownloadOptions<K>['onMalformed'];
    },
    onRow: (row: RowByKind[K], position: DownloadPosition) => unknown,
  ): Promise<DownloadSummary> {
    if (job.status !== 'Completed') throw new ExportNotCompletedError(job);
    return downloadExport(
      {
        open: this.fileOpener(target, job.exportId),
        kind: target.kind as K,
        format: parse.format ?? job.format ?? 'CSV',
        columnHeaderNames: parse.columnHeaderNames,
        expectedSize: job.fileSize,
        expectedChecksum: job.fileChecksum,
        from: parse.from,
        maxReconnects: parse.maxReconnects,
        signal: parse.signal,
        onMalformed: parse.onMalformed,
      },
      onRow,
    );
  }

  /**
   * One export end to end: create, enqueue (waiting for a queue slot while the shared queue is
   * full), poll, then stream the file into `onRow`. A daily-quota 1029 is thrown for the caller
   * to wait out (its classification carries the reset time).
   */
  async run<K extends ExportKind>(
    target: ExportTarget<K>,
    request: ExportRequestByKind[K],
    options: RunExportOptions,
    onRow: (row: RowByKind[K], position: DownloadPosition) => unknown,
  ): Promise<ExportRunSummary> {
    const created = await this.create(target, request);
    await this.enqueueWhenSlotFree(target, created.exportId, options);
    const job = await this.waitUntilDone(target, created.exportId, options);
    if (job.status !== 'Completed') throw new ExportNotCompletedError(job);
    const summary = await this.download(
      target,
      job,
      {
        columnHeaderNames: (request as { columnHeaderNames?: Record<string, string> }).columnHeaderNames,
        ...options.download,
        ...(options.onMalformed ? { onMalformed: (bad: MalformedRow, position: DownloadPosition) => options.onMalformed!(bad, position, job.exportId) } : {}),
      },
      onRow,
    );
    return {
      exportId: job.exportId,
      status: job.status,
      numberOfRecords: job.numberOfRecords ?? 0,
      fileSize: job.fileSize ?? summary.bytes,
      fileChecksum: job.fileChecksum ?? summary.checksum,
      rows: summary.rows,
      bytes: summary.bytes,
      reconnects: summary.reconnects,
      position: summary.position,
    };
  }

  async enqueueWhenSlotFree(target: ExportTarget, exportId: string, options: Pick<RunExportOptions, 'queueFullRetryMs' | 'signal' | 'timeoutMs'> = {}): Promise<ExportJob> {
    const deadline = options.timeoutMs === undefined ? Infinity : this.clock.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        return await this.enqueue(target, exportId);
      } catch (error) {
        if (!isQueueFull(error)) throw error;
        const wait = options.queueFullRetryMs ?? (error as MarketoApiError).classification.delayMs ?? 60_000;
        if (this.clock.now() + wait > deadline) throw error;
        await this.clock.sleep(wait);
      }
    }
  }

  private jobPath(target: ExportTarget, exportId: string, action: 'enqueue' | 'status' | 'cancel' | 'file'): string {
    return `${exportRoot(target)}/${exportIdSchema.parse(exportId)}/${action}.json`;
  }

  private async one(spec: Parameters<MarketoTransport['request']>[0]): Promise<ExportJob> {
    const envelope = await this.transport.request(spec, exportJobSchema);
    const job = envelope.result?.[0];
    if (!job) {
      throw new MarketoApiError({
        code: 'INVALID_RESPONSE',
        message: 'bulk export call succeeded without a job in result',
        endpoint: spec.path,
        source: 'response',
        requestId: envelope.requestId,
        classification: classify('INVALID_RESPONSE'),
      });
    }
    return job;
  }
}
