import { Transform } from 'node:stream';
import type { z } from 'zod';
import { CsvRecordReader } from './csv-records.js';
import { delimiterOf, type ExportFormat } from './formats.js';
import { compileRecordBuilder, type RecordBuilder } from './record-builder.js';
import { rowSchemaByKind, type ExportKind, type RowByKind } from './rows.js';

/**
 * A data line of the file that cannot become a row: wrong column count, bytes that are not
 * UTF-8, or a cell its kind's schema refuses. Holds where it is and why, never the line's values
 * (they may be lead data) beyond the record's own key.
 */
export interface MalformedRow {
  /** 1-based line of the file where the record ends (a quoted cell may span lines). */
  line: number;
  /** File byte offset just past the record. */
  end: number;
  reason: string;
  /**
   * The record's Marketo key (`id` of a lead, `marketoGUID` of an activity or custom object,
   * `leadId` of a program member) when the line has the header's cell count and that cell reads
   * as a key: what to fetch the record again by. Absent otherwise.
   */
  id?: string;
}

/**
 * A typed row, or a malformed line in its place, with the file byte offset just past it: the
 * point to resume from once it is handled. Malformed lines stay in the stream, in file order, so
 * a consumer can record them before it commits any position past them.
 */
export type ParsedRow<T> = { row: T; end: number; malformed?: undefined } | { row?: undefined; end: number; malformed: MalformedRow };

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
  stream: Transform;
  /** Field names of the file, known once the header is read (or given when resuming). */
  columns(): readonly string[] | undefined;
}

const TEXT_RECORD_KINDS: ReadonlySet<ExportKind> = new Set<ExportKind>(['leads', 'programMembers', 'customObjects']);

/** The column that names a record of each kind, for `MalformedRow.id`. */
const KEY_COLUMN: Record<ExportKind, string> = { leads: 'id', activities: 'marketoGUID', programMembers: 'leadId', customObjects: 'marketoGUID' };
/** What a Marketo key looks like (an integer id or a GUID): anything else is not reported as one. */
const KEY = /^[A-Za-z0-9-]{1,64}$/;

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`).join('; ');
}

/** Field names for a header (or the columns a resume is given), refusing names no row could hold. */
function fieldsOfHeader(header: readonly string[], headerToField: ReadonlyMap<string, string>): string[] {
  const fields = header.map((h) => headerToField.get(h) ?? h);
  const seen = new Set<string>();
  for (const f of fields) {
    if (f === '') throw new Error('bulk file header has an empty column name');
    // A plain object cannot hold this key as data: its values would vanish from every row.
    if (f === '__proto__') throw new Error('bulk file header names the reserved column "__proto__"');
    if (seen.has(f)) throw new Error(`bulk file header repeats column ${JSON.stringify(f)}`);
    seen.add(f);
  }
  return fields;
}

/**
 * Streaming parser of a bulk export file into typed rows; `CsvRecordReader` (papaparse) does the
 * CSV work and the byte offsets. Bare `null` cells become null. A line with the wrong number of
 * cells, or one that does not match its kind's schema, comes out as a `malformed` item naming the
 * line, bytes and field, so one bad line neither stops the file nor is silently dropped. So
 * does a line with bytes that are not UTF-8 (named by column; the rest of the file is parsed as
 * usual). Broken CSV structure (an unclosed quote) still fails the stream: nothing after it can
 * be trusted; nor can a header that is not UTF-8.
 */
export function createExportParser<K extends ExportKind>(options: ExportParserOptions<K>): ExportParser {
  // Record kinds are text-or-null by construction (cells are strings; `null` cells are replaced
  // below), which is all their schema says: a per-row zod pass there only copied the row.
  // Activity rows keep theirs: typed columns, JSON attributes, no unknown columns.
  const schema = TEXT_RECORD_KINDS.has(options.kind) ? undefined : (rowSchemaByKind[options.kind] as z.ZodType<RowByKind[K], unknown>);
  const headerToField = new Map(Object.entries(options.columnHeaderNames ?? {}).map(([field, header]) => [header, field]));
  let columns: readonly string[] | undefined;
  let toRecord: RecordBuilder = () => ({});
  let keyIndex = -1;
  const setColumns = (fields: readonly string[]): void => {
    columns = fields;
    toRecord = compileRecordBuilder(fields);
    keyIndex = fields.indexOf(KEY_COLUMN[options.kind]);
  };
  if (options.resume) setColumns(fieldsOfHeader(options.resume.columns, new Map()));

  const malformed = (cells: readonly string[], end: number, line: number, reason: string, invalidCells?: readonly number[]): ParsedRow<RowByKind[K]> => {
    const bad: MalformedRow = { line, end, reason };
    const key = cells[keyIndex];
    if (key !== undefined && KEY.test(key) && !invalidCells?.includes(keyIndex)) bad.id = key;
    return { malformed: bad, end };
  };

  const toParsedRow = (cells: string[], end: number, line: number, invalidCells: readonly number[] | undefined): ParsedRow<RowByKind[K]> => {
    const width = columns!.length;
    if (cells.length !== width) {
      const bytes = invalidCells ? ', and bytes that are not UTF-8' : '';
      return { malformed: { line, end, reason: `${cells.length} cells where the header has ${width} columns${bytes}` }, end };
    }
    if (invalidCells) {
      const names = invalidCells.map((i) => columns![i]).join(', ');
      return malformed(cells, end, line, `invalid UTF-8 in column${invalidCells.length === 1 ? '' : 's'} ${names}`, invalidCells);
    }
    const record = toRecord(cells);
    if (!schema) return { row: record as RowByKind[K], end };
    const result = schema.safeParse(record);
    if (!result.success) return malformed(cells, end, line, describeIssues(result.error));
    return { row: result.data, end };
  };

  const stream = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, callback) {
      try {
        reader.write(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback();
    },
    flush(callback) {
      try {
        reader.end();
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback();
    },
  });
  const reader = new CsvRecordReader(
    { delimiter: delimiterOf(options.format), byteOffset: options.resume?.byteOffset ?? 0, bom: options.resume === undefined },
    (cells, end, line, invalidCells) => {
      if (columns !== undefined) stream.push(toParsedRow(cells, end, line, invalidCells));
      else if (invalidCells) throw new Error(`bulk file header is not valid UTF-8 (column ${invalidCells.map((i) => i + 1).join(', ')}, line ${line})`);
      else setColumns(fieldsOfHeader(cells, headerToField));
    },
  );
  return { stream, columns: () => columns };
}
