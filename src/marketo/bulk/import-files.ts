import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify, type Options as StringifyOptions } from 'csv-stringify';
import { z } from 'zod';
import { delimiterOf } from './formats.js';

/** Marketo refuses import bodies over 10 MB (HTTP 413). */
export const IMPORT_FILE_LIMIT_BYTES = 10 * 1024 * 1024;
/** Files are cut below the limit with room for the multipart envelope and a safety margin. */
export const DEFAULT_IMPORT_FILE_BYTES = Math.floor(IMPORT_FILE_LIMIT_BYTES * 0.95);

/** One import file on disk: which input rows it holds (global indexes `firstRow`..`firstRow + rows - 1`). */
export interface ImportFile {
  index: number;
  path: string;
  firstRow: number;
  rows: number;
  bytes: number;
}

const cellSchema = z.union([z.string(), z.number(), z.boolean(), z.date(), z.null(), z.undefined()]);
export type ImportCell = z.infer<typeof cellSchema>;
export type ImportRecord = Record<string, ImportCell>;

export const importFileOptionsSchema = z
  .object({
    /** Header of every file, in order: the REST API names of the fields. */
    columns: z.array(z.string().min(1)).min(1).refine((c) => new Set(c).size === c.length, 'columns repeat a name'),
    format: z.enum(['csv', 'tsv', 'ssv']).default('csv'),
    maxFileBytes: z.number().int().min(1024).max(IMPORT_FILE_LIMIT_BYTES).default(DEFAULT_IMPORT_FILE_BYTES),
    dir: z.string().min(1),
    /** File name stem inside `dir`. */
    name: z.string().min(1).default('import'),
  })
  .strict();
export type ImportFileOptions = z.input<typeof importFileOptionsSchema>;

function rowOf(record: unknown, index: number, columns: readonly string[], known: ReadonlySet<string>): ImportCell[] {
  const parsed = z.record(z.string(), cellSchema).safeParse(record);
  if (!parsed.success) throw new Error(`import record ${index}: ${z.prettifyError(parsed.error)}`);
  for (const key of Object.keys(parsed.data)) {
    // A field outside the header would be silently dropped from the file: refuse instead.
    if (!known.has(key)) throw new Error(`import record ${index}: field ${JSON.stringify(key)} is not one of the import columns`);
  }
  return columns.map((c) => parsed.data[c]);
}

/**
 * Writes records as import files: one csv-stringify stream formats every row, and rows are
 * appended to the current file until the next would pass `maxFileBytes`; then that file is
 * yielded (ready to upload while the next is written) and a new one starts with the header.
 * Memory holds one row at a time, whatever the input size.
 */
export async function* writeImportFiles(records: Iterable<ImportRecord> | AsyncIterable<ImportRecord>, input: ImportFileOptions): AsyncGenerator<ImportFile> {
  const options = importFileOptionsSchema.parse(input);
  const known = new Set(options.columns);
  let index = 0;
  const source = Readable.from(
    (async function* () {
      yield options.columns;
      for await (const record of records as AsyncIterable<ImportRecord>) yield rowOf(record, index++, options.columns, known);
    })(),
  );
  const stringifyOptions: StringifyOptions & { readableObjectMode: boolean } = {
    delimiter: delimiterOf(options.format),
    record_delimiter: '\n',
    // One output item per row, so each line's size is known before it is placed in a file.
    readableObjectMode: true,
    cast: { boolean: (v: boolean) => (v ? 'true' : 'false'), date: (v: Date) => v.toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
  const lines = stringify(stringifyOptions);
  source.on('error', (e) => lines.destroy(e));
  source.pipe(lines);

  let header: Buffer | undefined;
  let current: { file: ImportFile; out: WriteStream } | undefined;
  let fileIndex = 0;
  let row = 0;
  const close = async (): Promise<ImportFile> => {
    const { file, out } = current!;
    current = undefined;
    out.end();
    await finished(out);
    return file;
  };
  for await (const chunk of lines as AsyncIterable<string>) {
    const line = Buffer.from(chunk);
    if (!header) {
      header = line;
      continue;
    }
    if (header.length + line.length > options.maxFileBytes) throw new Error(`import record ${row} alone is larger than ${options.maxFileBytes} bytes`);
    if (current && current.file.bytes + line.length > options.maxFileBytes) yield await close();
    if (!current) {
      const path = join(options.dir, `${options.name}-${fileIndex}.${options.format}`);
      current = { file: { index: fileIndex++, path, firstRow: row, rows: 0, bytes: header.length }, out: createWriteStream(path) };
      current.out.write(header);
    }
    current.file.rows++;
    current.file.bytes += line.length;
    row++;
    if (!current.out.write(line)) await once(current.out, 'drain');
  }
  if (current) yield await close();
}
