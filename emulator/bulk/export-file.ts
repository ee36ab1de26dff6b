import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'csv-stringify/sync';
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

/** Most rows one write carries: big enough that per-write costs vanish, small enough to stay a few hundred KB. */
const MAX_CHUNK_ROWS = 1000;
/**
 * A paced export writes about this much of its time budget at once, then sleeps: each wake-up
 * costs CPU of its own on a busy machine (measured: 20 ms chunks cost a third more per row than
 * 200 ms ones at 5,000 rows/s), and a cancel still stops the job at once (the sleep is aborted).
 */
const PACED_CHUNK_MS = 200;
/** Shorter waits are skipped (caught up by the next chunk): timers that short cost more than they pace. */
const MIN_SLEEP_MS = 10;

function csvOptions(format: FileFormat) {
  return { delimiter: DELIMITERS[format], record_delimiter: '\n' } as const;
}

/**
 * Turns rows into file lines exactly as csv-stringify writes them with `csvOptions`, but cheaply.
 * With those options csv-stringify leaves a non-empty string that holds no quote, delimiter or LF
 * as it is (an explicit record_delimiter turns off its quoting of a bare CR), and joins cells
 * with the delimiter; only cells holding one of those characters need its quoting, so only they
 * are handed to it (one cell at a time: a cell's text does not depend on its neighbours). Empty
 * and missing values are `null`, numbers and booleans their String().
 */
export function lineEncoder(format: FileFormat): (row: readonly Cell[]) => string {
  const options = csvOptions(format);
  const delimiter = options.delimiter;
  const needsQuoting = new RegExp(`["\\n${delimiter === '\t' ? '\\t' : delimiter}]`);
  const quoted = (text: string): string => stringify([[text]], options).slice(0, -options.record_delimiter.length);
  return (row) => {
    let line = '';
    for (let i = 0; i < row.length; i++) {
      const value = row[i];
      let text: string;
      if (typeof value === 'string') text = value === '' ? NULL_CELL : needsQuoting.test(value) ? quoted(value) : value;
      else text = value === null || value === undefined ? NULL_CELL : String(value);
      line += i === 0 ? text : delimiter + text;
    }
    return line + '\n';
  };
}

export interface WriteExportOptions {
  path: string;
  format: FileFormat;
  rate: ProcessingRate;
  signal: AbortSignal;
  /** Waits `ms` (tests count the waits); default a timer that the signal cancels. */
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms the pacing measures elapsed time with; default Date.now. */
  now?: () => number;
}

/**
 * Writes an export file to disk in chunks of rows (each chunk made synchronously, encoded, hashed
 * and written in one go), paced per chunk to the configured processing rate so the job takes
 * realistic time, and never holding the file in memory. The download route then serves byte
 * ranges straight from this file. Rows cost the emulator little CPU: it shares the machine with
 * the system under test.
 */
export async function writeExportFile(source: ExportSource, options: WriteExportOptions): Promise<ProducedFile> {
  const { signal } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal }));
  const now = options.now ?? Date.now;
  const { rowsPerSecond, bytesPerSecond } = options.rate;
  const paced = rowsPerSecond > 0 || bytesPerSecond > 0;
  const encode = lineEncoder(options.format);
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  signal.throwIfAborted();
  const file = await open(options.path, 'w');
  try {
    // One buffer reused for every chunk, each line encoded straight into it: building a chunk-sized
    // string and converting that cost ~15% more per row (flattening the string).
    let buffer = Buffer.allocUnsafe(256 * 1024);
    let used = 0;
    const append = (text: string): void => {
      // UTF-8 needs at most 3 bytes per UTF-16 code unit.
      if (buffer.length - used < text.length * 3) {
        const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, used + text.length * 3));
        buffer.copy(bigger, 0, 0, used);
        buffer = bigger;
      }
      used += buffer.write(text, used, 'utf8');
    };
    const flush = async (): Promise<void> => {
      hash.update(buffer.subarray(0, used));
      bytes += used;
      for (let at = 0; at < used; ) at += (await file.write(buffer, at, used - at)).bytesWritten;
      used = 0;
    };
    // The header goes through csv-stringify itself: header names are not cells (no `null` for '').
    append(stringify([source.header], csvOptions(options.format)));
    await flush();
    const started = now();
    let chunkRows = rowsPerSecond > 0 ? Math.max(1, Math.min(MAX_CHUNK_ROWS, Math.floor((rowsPerSecond * PACED_CHUNK_MS) / 1000))) : MAX_CHUNK_ROWS;
    const iterator = source.rows[Symbol.iterator]();
    for (let done = false; !done; ) {
      signal.throwIfAborted();
      let n = 0;
      while (n < chunkRows) {
        const next = iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        append(encode(next.value));
        n++;
      }
      if (n === 0) break;
      await flush();
      rows += n;
      if (!paced) continue;
      if (bytesPerSecond > 0) {
        // About PACED_CHUNK_MS worth of bytes per chunk, from the rows' average size so far.
        chunkRows = Math.min(chunkRows, Math.max(1, Math.floor((bytesPerSecond * PACED_CHUNK_MS) / 1000 / (bytes / rows))));
      }
      // The last chunk waits too: a job of N rows at R rows/s lasts N/R seconds.
      const due = Math.max(rowsPerSecond > 0 ? (rows / rowsPerSecond) * 1000 : 0, bytesPerSecond > 0 ? (bytes / bytesPerSecond) * 1000 : 0);
      const ahead = due - (now() - started);
      if (ahead >= MIN_SLEEP_MS) await sleep(ahead);
    }
    await file.close();
  } catch (error) {
    // A cancelled or failed job leaves no partial file behind.
    await file.close().catch(() => undefined);
    await rm(options.path, { force: true });
    throw error;
  }
  return { path: options.path, numberOfRecords: rows, fileSize: bytes, sha256: hash.digest('hex') };
}
