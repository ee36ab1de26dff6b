import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlink } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '../subscription.js';
import { writeExportFile } from './export-file.js';
import { ExportJobs, type ExportKind, type ProducedFile } from './export-jobs.js';
import { exportSpecFor, type ExportSpec } from './export-sources.js';
import type { ExportJob } from './export-jobs.js';
import type { ImportBatch } from './import-jobs.js';
import type { Cell, ExportSource } from './export-file.js';
import { ImportJobs } from './import-jobs.js';
import { runImport, type ImportSpec } from './import-processor.js';
import { BulkOptions, type ResolvedBulkOptions } from './options.js';

const DAY = 86_400_000;

/** The bulk state as the state file holds it. */
export interface BulkState {
  fileSeq: number;
  exports: { jobs: Omit<ExportJob<SavedExportSpec>, 'abort'>[]; bytesByDay: [day: string, bytes: number][] };
  imports: { nextId: number; batches: Omit<ImportBatch<ImportSpec>, 'abort'>[] };
}

/** An export spec as saved: its create request, from which `exportSpecFor` makes it again. */
export interface SavedExportSpec {
  format: ExportSpec['format'];
  request: { body: unknown; apiName?: string };
}

/**
 * The bulk state of one emulator: export jobs, import batches, their files in a private temp
 * folder, and the bulk fault switches. One per subscription, so parallel emulators in one process
 * stay apart.
 */
export class BulkService {
  readonly options: ResolvedBulkOptions;
  readonly exports: ExportJobs<ExportSpec>;
  readonly imports: ImportJobs<ImportSpec>;
  readonly dir: string;
  /** Remaining broken downloads and enqueue refusals (mutable fault switches). */
  readonly faults: { breakDownloadAfterBytes: number | undefined; breakDownloads: number; queueFull: number; corruptDownloads: number; malformedRows: number; invalidUtf8Rows: number; invalidUtf8RowsPerFile: number; invalidUtf8Kind: ExportKind | undefined };
  private fileSeq = 0;
  /** Called after every job or batch change (the state file saves soon after). */
  onChange: (() => void) | undefined;
  /** Set while closing: with a kept folder, close leaves files in place for the next start. */
  private closing = false;

  constructor(
    readonly subscription: Subscription,
    input: BulkOptions = {},
    /** A folder kept across restarts (next to the state file): files survive close and exit. */
    readonly keptDir?: string,
  ) {
    this.options = BulkOptions.parse(input);
    if (keptDir !== undefined) {
      mkdirSync(keptDir, { recursive: true });
      this.dir = keptDir;
    } else {
      this.dir = mkdtempSync(join(this.options.tempDir ?? tmpdir(), 'marketo-emulator-bulk-'));
      trackDir(this.dir);
    }
    const discardFile = (path: string): void => {
      if (!(this.closing && keptDir !== undefined)) discard(path);
    };
    const onChange = (): void => this.onChange?.();
    const o = this.options;
    const now = () => subscription.clock.now();
    this.faults = {
      breakDownloadAfterBytes: o.faults.breakDownloadAfterBytes,
      breakDownloads: o.faults.breakDownloads,
      queueFull: o.faults.queueFull,
      corruptDownloads: o.faults.corruptDownloads,
      malformedRows: o.faults.malformedRows,
      invalidUtf8Rows: o.faults.invalidUtf8Rows,
      invalidUtf8RowsPerFile: o.faults.invalidUtf8RowsPerFile,
      invalidUtf8Kind: o.faults.invalidUtf8Kind,
    };
    this.exports = new ExportJobs<ExportSpec>({
      now,
      limits: {
        maxProcessing: o.export.maxProcessing,
        maxQueued: o.export.maxQueued,
        dailyQuotaBytes: o.export.dailyQuotaBytes,
        fileRetentionMs: o.export.fileRetentionDays * DAY,
      },
      discardFile,
      onChange,
      processor: async (job, signal) =>
        this.withInvalidByte(
          job.kind,
          await writeExportFile(this.withMalformedRow(job.spec.source()), {
            path: this.newPath(`export-${job.exportId}`),
            format: job.format,
            rate: { rowsPerSecond: o.export.rowsPerSecond, bytesPerSecond: o.export.bytesPerSecond },
            signal,
          }),
        ),
    });
    this.exports.failNext = o.faults.failExports;
    this.imports = new ImportJobs<ImportSpec>({
      now,
      limits: { maxImporting: o.import.maxImporting, maxQueued: o.import.maxQueued },
      discardFile,
      onChange,
      processor: async (batch, signal) => {
        try {
          return await runImport(subscription, batch.spec, {
            failuresPath: this.newPath(`import-${batch.batchId}-failures`),
            warningsPath: this.newPath(`import-${batch.batchId}-warnings`),
            rowsPerSecond: o.import.rowsPerSecond,
            signal,
          });
        } finally {
          discard(batch.spec.filePath);
        }
      },
    });
    this.imports.failNext = o.faults.failImports;
  }

  /** The "malformed rows" fault: a short row after the first data row of the next N files. */
  private withMalformedRow(source: ExportSource): ExportSource {
    if (this.faults.malformedRows <= 0) return source;
    this.faults.malformedRows -= 1;
    return { header: source.header, rows: insertAfterFirst(source.rows, ['malformed', 'row']) };
  }

  /**
   * The "invalid UTF-8" fault: the last letter or digit of `invalidUtf8RowsPerFile` data rows of
   * the next N files (of `invalidUtf8Kind`, when set; the first row, then evenly spread) becomes the byte 0xFF, as a damaged export
   * would hold it (same size; the checksum is the damaged file's, as Marketo's would be). A file
   * without such a byte is left alone.
   */
  private async withInvalidByte(kind: ExportKind, produced: ProducedFile): Promise<ProducedFile> {
    if (this.faults.invalidUtf8Rows <= 0 || (this.faults.invalidUtf8Kind !== undefined && this.faults.invalidUtf8Kind !== kind)) return produced;
    const bytes = await readFile(produced.path);
    // Line starts after the header: the data rows (a quoted line break would count as a row; seeds hold none).
    const starts: number[] = [];
    for (let at = bytes.indexOf(0x0a); at >= 0 && at + 1 < bytes.length; at = bytes.indexOf(0x0a, at + 1)) starts.push(at + 1);
    const wanted = Math.min(this.faults.invalidUtf8RowsPerFile, starts.length);
    const step = wanted > 0 ? Math.floor(starts.length / wanted) : 0;
    let damaged = 0;
    for (let k = 0; k < wanted; k++) {
      const start = starts[k * step]!;
      const end = bytes.indexOf(0x0a, start);
      let at = (end < 0 ? bytes.length : end) - 1;
      while (at >= start && !isAlphanumeric(bytes[at]!)) at--;
      if (at < start) continue;
      bytes[at] = 0xff;
      damaged += 1;
    }
    if (damaged === 0) return produced;
    this.faults.invalidUtf8Rows -= 1;
    await writeFile(produced.path, bytes);
    return { ...produced, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  newPath(stem: string): string {
    return join(this.dir, `${stem}-${++this.fileSeq}`);
  }

  /** Resolves when no export or import is working in the background. */
  async idle(): Promise<void> {
    await Promise.all([this.exports.idle(), this.imports.idle()]);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.exports.close(), this.imports.close()]);
    if (this.keptDir !== undefined) return;
    rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }

  /** Grows with every job or batch change; equal stamps mean nothing changed in between. */
  changeStamp(): number {
    return this.exports.changes + this.imports.changes;
  }

  /** Jobs, batches and the file counter as plain data; export specs are kept as their create requests. */
  toState(): BulkState {
    return {
      fileSeq: this.fileSeq,
      exports: this.exports.toState((spec) => ({ format: spec.format, request: spec.request ?? { body: null } })),
      imports: this.imports.toState(),
    };
  }

  /** Restores saved jobs and batches; each export spec is rebuilt from its create request. */
  loadState(state: BulkState): void {
    this.fileSeq = state.fileSeq;
    const features = { updatedAtFilter: this.options.export.updatedAtFilter, smartListFilters: this.options.export.smartListFilters };
    this.exports.loadState({
      bytesByDay: state.exports.bytesByDay,
      jobs: state.exports.jobs.map((job) => ({
        ...job,
        spec: exportSpecFor(job.kind, this.subscription, job.spec.request.body, features, job.spec.request.apiName),
      })),
    });
    this.imports.loadState(state.imports);
  }
}

/**
 * Folders still to remove at process exit: an emulator closed without `closeBulk` (its own close
 * does not know about bulk yet) must not leave export files behind.
 */
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function trackDir(dir: string): void {
  liveDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

function discard(path: string): void {
  unlink(path, () => undefined);
}

function isAlphanumeric(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

function* insertAfterFirst(rows: Iterable<Cell[]>, extra: Cell[]): Iterable<Cell[]> {
  let first = true;
  for (const row of rows) {
    yield row;
    if (first) yield extra;
    first = false;
  }
}

const services = new WeakMap<Subscription, BulkService>();

/** The bulk service of an emulator's subscription, created with default options on first use. */
export function bulkService(subscription: Subscription): BulkService {
  let service = services.get(subscription);
  if (!service) {
    service = new BulkService(subscription);
    services.set(subscription, service);
  }
  return service;
}

/** Replaces the bulk settings of a running emulator (closing the previous bulk state). */
export async function configureBulk(subscription: Subscription, options: BulkOptions, keptDir?: string): Promise<BulkService> {
  await services.get(subscription)?.close();
  const service = new BulkService(subscription, options, keptDir);
  services.set(subscription, service);
  return service;
}

/** Stops bulk work and removes its files; call when the emulator closes. */
export async function closeBulk(subscription: Subscription): Promise<void> {
  await services.get(subscription)?.close();
  services.delete(subscription);
}
