import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { delimiterOf, type ImportFormat } from './formats.js';
import type { ImportFile } from './import-files.js';

/** One rejected or warned input row, traced back to the record that produced it. */
export interface ImportRowResult {
  kind: 'failure' | 'warning';
  /** Index of the record in the input of the import run; -1 when the row could not be matched. */
  inputIndex: number;
  fileIndex: number;
  /** The row as sent, by column. */
  row: Record<string, string>;
  reason: string;
}

function rows(stream: Readable, format: ImportFormat): AsyncIterator<string[]> {
  return stream.pipe(parse({ delimiter: delimiterOf(format), bom: true, relax_column_count: true }))[Symbol.asyncIterator]() as AsyncIterator<string[]>;
}

const sameCells = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Maps a failures or warnings file (the import format plus a trailing reason column, rows in
 * input order) back to the uploaded file's rows by walking both in step: each reason row is
 * matched to the next identical uploaded row. Nothing is loaded whole; a reason row without a
 * match is still reported, with inputIndex -1, so no failure is lost.
 */
export async function mapReasonFile(
  file: ImportFile,
  reasons: Readable,
  options: { format: ImportFormat; kind: ImportRowResult['kind'] },
  onResult: (result: ImportRowResult) => unknown,
): Promise<{ matched: number; unmatched: number }> {
  const got = rows(reasons, options.format);
  const sent = new SentRows(file.path, options.format);
  try {
    const header = await sent.header();
    const reasonHeader = (await got.next()).value as string[] | undefined;
    if (!reasonHeader) return { matched: 0, unmatched: 0 };
    let matched = 0;
    let unmatched = 0;
    for (let next = await got.next(); !next.done; next = await got.next()) {
      const cells = next.value;
      const values = cells.slice(0, -1);
      const found = await sent.find(values);
      if (found >= 0) matched++;
      else unmatched++;
      const row = Object.fromEntries(header.map((h, i) => [h, values[i] ?? '']));
      await onResult({ kind: options.kind, inputIndex: found >= 0 ? file.firstRow + found : -1, fileIndex: file.index, row, reason: cells.at(-1) ?? '' });
    }
    return { matched, unmatched };
  } finally {
    await sent.close();
    await got.return?.();
  }
}

/**
 * A cursor over the uploaded file. Rows are searched forward from the last match (reason files
 * keep input order); a row found nowhere ahead is searched once more from the top, so an
 * out-of-order reason file costs a re-read of at most one 10 MB file per such row, never memory.
 */
class SentRows {
  private iterator: AsyncIterator<string[]> | undefined;
  private position = -1;
  private columns: string[] | undefined;

  constructor(
    private readonly path: string,
    private readonly format: ImportFormat,
  ) {}

  async header(): Promise<string[]> {
    await this.rewind();
    if (!this.columns) throw new Error(`import file ${this.path} has no header`);
    return this.columns;
  }

  async find(values: readonly string[]): Promise<number> {
    const start = this.position;
    const ahead = await this.scan(values, Infinity);
    if (ahead >= 0 || start < 0) return ahead;
    await this.rewind();
    return this.scan(values, start);
  }

  async close(): Promise<void> {
    await this.iterator?.return?.();
  }

  private async scan(values: readonly string[], until: number): Promise<number> {
    while (this.iterator && this.position < until) {
      const next = await this.iterator.next();
      if (next.done) {
        this.iterator = undefined;
        return -1;
      }
      this.position++;
      if (sameCells(next.value, values)) return this.position;
    }
    return -1;
  }

  private async rewind(): Promise<void> {
    await this.close();
    this.iterator = rows(createReadStream(this.path), this.format);
    this.position = -1;
    this.columns = (await this.iterator.next()).value as string[] | undefined;
  }
}

/** Every row of a file, for a batch that failed as a whole: each is reported with the batch's message. */
export async function allRowsFailed(file: ImportFile, format: ImportFormat, reason: string, onResult: (result: ImportRowResult) => unknown): Promise<number> {
  const sent = rows(createReadStream(file.path), format);
  try {
    const header = (await sent.next()).value as string[] | undefined;
    if (!header) return 0;
    let i = 0;
    for (let next = await sent.next(); !next.done; next = await sent.next(), i++) {
      const row = Object.fromEntries(header.map((h, c) => [h, next.value[c] ?? '']));
      await onResult({ kind: 'failure', inputIndex: file.firstRow + i, fileIndex: file.index, row, reason });
    }
    return i;
  } finally {
    await sent.return?.();
  }
}
