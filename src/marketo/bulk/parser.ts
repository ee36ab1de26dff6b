import { parse, type Parser } from 'csv-parse';
import type { z } from 'zod';
import { delimiterOf, NULL_LITERAL, type ExportFormat } from './formats.js';
import { rowSchemaByKind, type ExportKind, type RowByKind } from './rows.js';

/** A typed row and the file byte offset just past it: the point to resume from once it is handled. */
export interface ParsedRow<T> {
  row: T;
  end: number;
}

export interface ExportParserOptions<K extends ExportKind> {
  kind: K;
  format: ExportFormat;
  /** The `columnHeaderNames` sent with the job: file headers are mapped back to field names. */
  columnHeaderNames?: Record<string, string> | undefined;
  /** Parse a tail of the file: the header is not in the stream, so its columns are given. */
  resume?: { columns: readonly string[]; byteOffset: number } | undefined;
}

export interface ExportParser {
  /** Object-mode transform: file bytes in, `ParsedRow` out. */
  stream: Parser;
  /** Field names of the file, known once the header is read (or given when resuming). */
  columns(): readonly string[] | undefined;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`).join('; ');
}

/**
 * Streaming parser of a bulk export file into typed rows, with csv-parse doing the CSV work.
 * Bare `null` cells become null. A row that does not match its kind's schema stops the stream
 * with an error naming the line and field, so bad data is never silently dropped.
 */
export function createExportParser<K extends ExportKind>(options: ExportParserOptions<K>): ExportParser {
  const schema = rowSchemaByKind[options.kind] as z.ZodType<RowByKind[K], unknown>;
  const headerToField = new Map(Object.entries(options.columnHeaderNames ?? {}).map(([field, header]) => [header, field]));
  const base = options.resume?.byteOffset ?? 0;
  let columns: readonly string[] | undefined = options.resume?.columns;

  const fromHeader = (header: string[]): string[] => {
    const fields = header.map((h) => headerToField.get(h) ?? h);
    const seen = new Set<string>();
    for (const f of fields) {
      if (f === '') throw new Error('bulk file header has an empty column name');
      if (seen.has(f)) throw new Error(`bulk file header repeats column ${JSON.stringify(f)}`);
      seen.add(f);
    }
    columns = fields;
    return fields;
  };

  const stream = parse({
    delimiter: delimiterOf(options.format),
    bom: options.resume === undefined,
    columns: options.resume ? [...options.resume.columns] : fromHeader,
    on_record: (record: Record<string, string | null>, info): ParsedRow<RowByKind[K]> => {
      for (const key in record) if (record[key] === NULL_LITERAL) record[key] = null;
      const result = schema.safeParse(record);
      if (!result.success) throw new Error(`bulk ${options.kind} file line ${info.lines}: ${describeIssues(result.error)}`);
      return { row: result.data, end: base + info.bytes };
    },
  });
  return { stream, columns: () => columns };
}
