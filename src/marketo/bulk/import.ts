import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { classify } from '../classification.js';
import { systemClock, type Clock } from '../clock.js';
import { MarketoApiError } from '../errors.js';
import type { QueryParams } from '../http.js';
import type { MarketoTransport } from '../transport.js';
import type { ImportFormat } from './formats.js';
import { writeImportFiles, type ImportFile, type ImportFileOptions, type ImportRecord } from './import-files.js';
import { allRowsFailed, mapReasonFile, type ImportRowResult } from './import-results.js';

/** Where an import goes: leads (with lookup field, list, partition) or one custom object type. */
export type ImportTarget =
  | { kind: 'leads'; lookupField?: string; listId?: number; partitionName?: string }
  | { kind: 'customObjects'; apiName: string };

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'apiName must be a custom object API name');

export const importStatusSchema = z.enum(['Queued', 'Importing', 'Complete', 'Failed']);

/** Lead and custom-object batch status, normalised: the two endpoints name the processed count differently. */
const batchSchema = z
  .looseObject({
    batchId: z.number().int(),
    status: importStatusSchema,
    numOfLeadsProcessed: z.number().int().nonnegative().optional(),
    numOfObjectsProcessed: z.number().int().nonnegative().optional(),
    numOfRowsFailed: z.number().int().nonnegative().optional(),
    numOfRowsWithWarning: z.number().int().nonnegative().optional(),
    message: z.string().optional(),
  })
  .transform((b) => ({
    batchId: b.batchId,
    status: b.status,
    processed: b.numOfLeadsProcessed ?? b.numOfObjectsProcessed ?? 0,
    failed: b.numOfRowsFailed ?? 0,
    warnings: b.numOfRowsWithWarning ?? 0,
    ...(b.message !== undefined ? { message: b.message } : {}),
  }));
export type ImportBatchStatus = z.output<typeof batchSchema>;

export interface ImportRunOptions extends Omit<ImportFileOptions, 'dir' | 'name'> {
  /** Folder for the files being built; a fresh temp folder by default (removed afterwards). */
  dir?: string;
  /** Marketo asks for polls every 5–30 s. */
  pollIntervalMs?: number;
  /** Pause between upload attempts while the import queue is full (1016). */
  queueFullRetryMs?: number;
  signal?: AbortSignal;
}

export interface ImportRunSummary {
  files: number;
  rows: number;
  processed: number;
  failed: number;
  warnings: number;
  /** Reason rows that could not be traced to an input row (reported with inputIndex -1). */
  unmatched: number;
  batches: (ImportBatchStatus & { fileIndex: number; rows: number; bytes: number })[];
}

/** 1016 "Too many imports": the import queue is full; upload again later. */
export function isImportQueueFull(error: unknown): boolean {
  return error instanceof MarketoApiError && error.code === '1016';
}

/**
 * Bulk Lead Import and Bulk Custom Object Import: multipart upload, batch status, failures and
 * warnings files, and `run`, which builds the CSV files from records as a stream, uploads each
 * (under the 10 MB limit) while the next is being written, polls, and reports every failed or
 * warned row traced back to its input record.
 */
export class BulkImportApi {
  constructor(
    private readonly transport: MarketoTransport,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Uploads one file (streamed from disk) and returns the Queued batch. */
  async submit(target: ImportTarget, path: string, format: ImportFormat): Promise<ImportBatchStatus> {
    const form = new FormData();
    form.append('file', await openAsBlob(path, { type: 'text/csv' }), basename(path));
    const query: QueryParams = { format };
    let endpointPath: string;
    if (target.kind === 'leads') {
      endpointPath = '/bulk/v1/leads.json';
      Object.assign(query, { lookupField: target.lookupField, listId: target.listId, partitionName: target.partitionName });
    } else {
      endpointPath = `/bulk/v1/customobjects/${apiName.parse(target.apiName)}/import.json`;
    }
    const envelope = await this.transport.request({ method: 'POST', path: endpointPath, query, body: { kind: 'multipart', value: form } }, batchSchema);
    return this.first(envelope.result, endpointPath, envelope.requestId);
  }

  async status(target: ImportTarget, batchId: number): Promise<ImportBatchStatus> {
    const path = this.batchPath(target, batchId, 'status');
    const envelope = await this.transport.request({ method: 'GET', path }, batchSchema);
    return this.first(envelope.result, path, envelope.requestId);
  }

  /** The failures or warnings file as a stream, or undefined when the batch has none (404). */
  async reasonFile(target: ImportTarget, batchId: number, which: 'failures' | 'warnings'): Promise<Readable | undefined> {
    const path = this.batchPath(target, batchId, which);
    const response = await this.transport.requestStream({ method: 'GET', path, headers: { accept: '*/*' } });
    if (response.statusCode === 404) {
      response.body.resume();
      return undefined;
    }
    if (response.statusCode !== 200) {
      response.body.resume();
      throw new MarketoApiError({ code: 'HTTP_4XX', message: `${which} file answered HTTP ${response.statusCode}`, endpoint: path, source: 'http', httpStatus: response.statusCode });
    }
    return response.body;
  }

  async submitWhenSlotFree(target: ImportTarget, path: string, format: ImportFormat, options: Pick<ImportRunOptions, 'queueFullRetryMs' | 'signal'> = {}): Promise<ImportBatchStatus> {
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        return await this.submit(target, path, format);
      } catch (error) {
        if (!isImportQueueFull(error)) throw error;
        await this.clock.sleep(options.queueFullRetryMs ?? (error as MarketoApiError).classification.delayMs ?? 60_000);
      }
    }
  }

  async waitUntilDone(target: ImportTarget, batchId: number, options: Pick<ImportRunOptions, 'pollIntervalMs' | 'signal'> = {}): Promise<ImportBatchStatus> {
    for (;;) {
      options.signal?.throwIfAborted();
      const batch = await this.status(target, batchId);
      if (batch.status === 'Complete' || batch.status === 'Failed') return batch;
      await this.clock.sleep(options.pollIntervalMs ?? 10_000);
    }
  }

  /**
   * Imports `records` end to end. Files are uploaded as soon as each is written; every batch is
   * then polled to the end, and its failures and warnings are streamed back to `onRow` with the
   * index of the input record. A batch that fails as a whole reports each of its rows.
   */
  async run(
    target: ImportTarget,
    records: Iterable<ImportRecord> | AsyncIterable<ImportRecord>,
    options: ImportRunOptions,
    onRow: (result: ImportRowResult) => unknown,
  ): Promise<ImportRunSummary> {
    const format = options.format ?? 'csv';
    const ownDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'marketo-import-')));
    const submitted: { file: ImportFile; batch: ImportBatchStatus }[] = [];
    try {
      const files = writeImportFiles(records, { columns: options.columns, format, maxFileBytes: options.maxFileBytes, dir, name: target.kind });
      for await (const file of files) {
        submitted.push({ file, batch: await this.submitWhenSlotFree(target, file.path, format, options) });
      }
      const summary: ImportRunSummary = { files: submitted.length, rows: 0, processed: 0, failed: 0, warnings: 0, unmatched: 0, batches: [] };
      for (const { file, batch } of submitted) {
        const done = await this.waitUntilDone(target, batch.batchId, options);
        summary.batches.push({ ...done, fileIndex: file.index, rows: file.rows, bytes: file.bytes });
        summary.rows += file.rows;
        if (done.status === 'Failed') {
          summary.failed += await allRowsFailed(file, format, done.message ?? 'Import failed', onRow);
        } else {
          summary.processed += done.processed;
          for (const which of ['failures', 'warnings'] as const) {
            if ((which === 'failures' ? done.failed : done.warnings) === 0) continue;
            const stream = await this.reasonFile(target, done.batchId, which);
            if (!stream) continue;
            const mapped = await mapReasonFile(file, stream, { format, kind: which === 'failures' ? 'failure' : 'warning' }, onRow);
            summary[which === 'failures' ? 'failed' : 'warnings'] += mapped.matched + mapped.unmatched;
            summary.unmatched += mapped.unmatched;
          }
        }
        await unlink(file.path).catch(() => undefined);
      }
      return summary;
    } finally {
      if (ownDir) await rm(dir, { recursive: true, force: true });
    }
  }

  private batchPath(target: ImportTarget, batchId: number, what: 'status' | 'failures' | 'warnings'): string {
    const id = z.number().int().positive().parse(batchId);
    if (target.kind === 'leads') return what === 'status' ? `/bulk/v1/leads/batch/${id}.json` : `/bulk/v1/leads/batch/${id}/${what}.json`;
    return `/bulk/v1/customobjects/${apiName.parse(target.apiName)}/import/${id}/${what}.json`;
  }

  private first(result: ImportBatchStatus[] | undefined, endpoint: string, requestId: string): ImportBatchStatus {
    const batch = result?.[0];
    if (!batch) {
      throw new MarketoApiError({ code: 'INVALID_RESPONSE', message: 'bulk import call succeeded without a batch in result', endpoint, source: 'response', requestId, classification: classify('INVALID_RESPONSE') });
    }
    return batch;
  }
}
