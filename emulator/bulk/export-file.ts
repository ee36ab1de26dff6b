import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'csv-stringify';
import type { FileFormat, ProducedFile } from './export-jobs.js';

export type Cell = string | number | boolean | null | undefined;

/** What an export writes: a header and rows, produced lazily so no file is ever built in memory. */
export interface ExportSource {
  header: string[];
  rows: Iterable<Cell[]>;
}

export interface ProcessingRate {
  /** Rows written per second; 0 = as fast as possible. */
  rowsPerSecond: number;
  /** Bytes written per second; 0 = as fast as possible. */
  bytesPerSecond: number;
}

export const DELIMITERS: Record<FileFormat, string> = { CSV: ',', TSV: '\t', SSV: ';' };

/** Marketo's spelling of an empty value in export files. */
const NULL_CELL = 'null';

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return NULL_CELL;
  return typeof value === 'string' ? value : String(value);
}

/**
 * Writes an export file to disk as a stream (csv-stringify → sha256 → file), paced to the
 * configured processing rate, so the job takes realistic time and the emulator never holds the
 * file in memory. The download route then serves byte ranges straight from this file.
 */
export async function writeExportFile(
  source: ExportSource,
  options: { path: string; format: FileFormat; rate: ProcessingRate; signal: AbortSignal; sleep?: (ms: number) => Promise<void> },
): Promise<ProducedFile> {
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal: options.signal }));
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  const started = Date.now();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const { rowsPerSecond, bytesPerSecond } = options.rate;
  async function* lines(): AsyncGenerator<string[]> {
    yield source.header;
    for (const row of source.rows) {
      options.signal.throwIfAborted();
      yield row.map(cellText);
      rows++;
      if (rowsPerSecond > 0 || bytesPerSecond > 0) {
        const due = Math.max(rowsPerSecond > 0 ? (rows / rowsPerSecond) * 1000 : 0, bytesPerSecond > 0 ? (bytes / bytesPerSecond) * 1000 : 0);
        const ahead = due - (Date.now() - started);
        // Sleeping in slices of at least 10 ms keeps timer overhead off fast exports.
        if (ahead >= 10) await sleep(ahead);
      }
    }
  }
  try {
    await pipeline(
      lines(),
      stringify({ delimiter: DELIMITERS[options.format], record_delimiter: '\n' }),
      tap,
      createWriteStream(options.path),
      { signal: options.signal },
    );
  } catch (error) {
    // A cancelled or failed job leaves no partial file behind.
    await rm(options.path, { force: true });
    throw error;
  }
  return { path: options.path, numberOfRecords: rows, fileSize: bytes, sha256: hash.digest('hex') };
}
