import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { ExportFormat } from './formats.js';
import { createExportParser, type MalformedRow, type ParsedRow } from './parser.js';
import type { ExportKind, RowByKind } from './rows.js';

/**
 * Where a download stands: bytes of the file fully handed to the consumer (always a row boundary),
 * rows handed over, and the file's columns. Small and JSON-safe so an activity can heartbeat it
 * and restart from it after a crash.
 */
export const downloadPositionSchema = z.object({
  byteOffset: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  columns: z.array(z.string()).readonly().optional(),
});
export type DownloadPosition = z.infer<typeof downloadPositionSchema>;

/** Opens the export file from byte `start` (to `end` inclusive, when given): the HTTP layer sends `Range`. */
export type OpenFileRange = (start: number, end?: number) => Promise<Readable>;

export interface DownloadOptions<K extends ExportKind> {
  open: OpenFileRange;
  kind: K;
  format: ExportFormat;
  columnHeaderNames?: Record<string, string> | undefined;
  /** `fileSize` from the job status: a stream that ends short of it is a broken connection. */
  expectedSize?: number | undefined;
  /** `fileChecksum` from the job status (`sha256:<hex>`), checked once the last byte is read. */
  expectedChecksum?: string | undefined;
  /** Resume after a crash from a heartbeated position instead of from the start. */
  from?: DownloadPosition | undefined;
  /** Reconnects allowed in a row without progress (a reconnect that then delivers bytes resets the count). */
  maxReconnects?: number | undefined;
  isRetriable?: ((error: unknown) => boolean) | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Takes a line that cannot become a row (wrong cell count, a cell the schema refuses), in file
   * order among the rows, and the download goes on. Without it such a line fails the download.
   */
  onMalformed?: ((bad: MalformedRow, position: DownloadPosition) => unknown) | undefined;
}

export interface DownloadSummary {
  /** Data lines read, malformed ones included. */
  rows: number;
  /** Lines handed to `onMalformed` instead of `onRow`. */
  malformed: number;
  bytes: number;
  checksum: string;
  checksumVerified: boolean;
  reconnects: number;
  position: DownloadPosition;
}

export class ChecksumMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`bulk file checksum mismatch: expected ${expected}, got ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

// Node socket codes, plus the REST client's transport codes for a call that failed on the wire.
const NETWORK_CODES = new Set(['NETWORK', 'TIMEOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Broken connections and truncated bodies are worth a reconnect; HTTP statuses and parse errors are not. */
export function isBrokenConnection(error: unknown): boolean {
  if (error instanceof ShortReadError) return true;
  const e = error as { code?: unknown; name?: unknown; cause?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'ReadError') return true;
  return e.cause !== undefined && e.cause !== error && isBrokenConnection(e.cause);
}

class ShortReadError extends Error {
  constructor(received: number, expected: number) {
    super(`bulk file ended at byte ${received} of ${expected}`);
    this.name = 'ShortReadError';
  }
}

interface ByteCounter {
  received: number;
  reconnects: number;
}

/**
 * Yields the file's bytes from `start`, reopening with a `Range` from the first byte not yet
 * yielded whenever the connection breaks. Being a generator, it pulls from the socket only when
 * the consumer asks for more, which is what carries back-pressure down to TCP.
 */
async function* resumableBytes(options: DownloadOptions<ExportKind>, start: number, hash: Hash, counter: ByteCounter): AsyncGenerator<Buffer> {
  const maxReconnects = options.maxReconnects ?? 5;
  const retriable = options.isRetriable ?? isBrokenConnection;
  let failuresInARow = 0;
  counter.received = start;
  for (;;) {
    const before = counter.received;
    try {
      if (options.expectedSize !== undefined && counter.received >= options.expectedSize) return;
      const body = await options.open(counter.received);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        counter.received += chunk.length;
        yield chunk;
      }
      if (options.expectedSize === undefined || counter.received === options.expectedSize) return;
      if (counter.received > options.expectedSize) throw new Error(`bulk file is longer than its fileSize ${options.expectedSize}`);
      throw new ShortReadError(counter.received, options.expectedSize);
    } catch (error) {
      if (options.signal?.aborted || !retriable(error)) throw error;
      failuresInARow = counter.received > before ? 1 : failuresInARow + 1;
      if (failuresInARow > maxReconnects) throw error;
      counter.reconnects += 1;
    }
  }
}

/** Re-reads bytes [0, end) into the hash only: a crash loses the hash state, not the parsed rows. */
async function hashPrefix(open: OpenFileRange, end: number, hash: Hash): Promise<void> {
  if (end === 0) return;
  let received = 0;
  for await (const chunk of (await open(0, end - 1)) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    received += chunk.length;
  }
  if (received !== end) throw new Error(`re-reading the first ${end} bytes for the checksum returned ${received}`);
}

/**
 * Streams a bulk export file through sha256 and the parser into `onRow`, one row at a time: the
 * next bytes are read only after `onRow` resolves, so a slow consumer slows the download instead
 * of filling memory. Broken connections resume from the byte already received; `from` resumes a
 * crashed download at a row boundary. The checksum is verified at the end.
 */
export async function downloadExport<K extends ExportKind>(
  options: DownloadOptions<K>,
  onRow: (row: RowByKind[K], position: DownloadPosition) => unknown,
): Promise<DownloadSummary> {
  const from = options.from ? downloadPositionSchema.parse(options.from) : { byteOffset: 0, rows: 0 };
  if (from.byteOffset > 0 && !from.columns) throw new Error('resuming a bulk download needs the columns of its position');
  const hash = createHash('sha256');
  const counter: ByteCounter = { received: 0, reconnects: 0 };
  if (options.expectedChecksum !== undefined) await hashPrefix(options.open, from.byteOffset, hash);

  const parser = createExportParser({
    kind: options.kind,
    format: options.format,
    columnHeaderNames: options.columnHeaderNames,
    resume: from.byteOffset > 0 ? { columns: from.columns ?? [], byteOffset: from.byteOffset } : undefined,
  });
  let position: DownloadPosition = { ...from };
  let malformed = 0;
  let consumerError: { error: unknown } | undefined;
  try {
    await pipeline(
      Readable.from(resumableBytes(options, from.byteOffset, hash, counter), { objectMode: false }),
      parser.stream,
      async (rows: AsyncIterable<ParsedRow<RowByKind[K]>>) => {
        for await (const parsed of rows) {
          // The columns array is shared, not copied: it is fixed once the header is read.
          position = { byteOffset: parsed.end, rows: position.rows + 1, columns: parser.columns() };
          try {
            let pending: unknown;
            if (parsed.malformed) {
              if (!options.onMalformed) throw new Error(`bulk ${options.kind} file line ${parsed.malformed.line}: ${parsed.malformed.reason}`);
              malformed += 1;
              pending = options.onMalformed(parsed.malformed, position);
            } else {
              pending = onRow(parsed.row, position);
            }
            // Await only what needs awaiting: a microtask hop per row is measurable at a million rows.
            if (typeof (pending as PromiseLike<unknown> | undefined)?.then === 'function') await (pending as PromiseLike<unknown>);
          } catch (error) {
            consumerError = { error };
            throw error;
          }
        }
      },
      { signal: options.signal },
    );
  } catch (error) {
    // Tearing the pipeline down can surface as an AbortError; the consumer's own error is the news.
    throw consumerError ? consumerError.error : error;
  }
  // A file with a header and no rows still ends past the header.
  position = { ...position, byteOffset: counter.received, columns: parser.columns() ?? position.columns };

  const checksum = `sha256:${hash.digest('hex')}`;
  const verified = options.expectedChecksum !== undefined;
  if (verified && checksum !== options.expectedChecksum) throw new ChecksumMismatchError(options.expectedChecksum!, checksum);
  return { rows: position.rows, malformed, bytes: counter.received, checksum, checksumVerified: verified, reconnects: counter.reconnects, position };
}
