import type { RecordRow } from './rows.js';
import { NULL_LITERAL } from './formats.js';

/** A REST record as an export row, or the first field whose value an export could not hold. */
export type RestExportRow = { row: RecordRow; problem?: undefined } | { row?: undefined; problem: string };

/**
 * The row a bulk export file would have given for a record read through REST, with the file's
 * columns: what lets a record re-fetched by id go through the same sink as the file's rows.
 *
 * An export writes every value as text: numbers and booleans as their JSON spelling
 * (`42`, `1234.5`, `true`), dates and datetimes as the same ISO strings REST answers, and an
 * empty value (null, '', or a field REST leaves out: "implied null") as the bare word `null`,
 * which the parser reads back as null. So does a text that is the word `null` itself: the file
 * cannot tell them apart, and neither may a re-fetched row. Objects and arrays (no lead field an
 * export is asked for holds one) are refused by name rather than guessed at.
 */
export function exportRowFromRest(record: Readonly<Record<string, unknown>>, columns: readonly string[]): RestExportRow {
  const row: RecordRow = {};
  for (const column of columns) {
    const value = record[column];
    if (value === null || value === undefined || value === '' || value === NULL_LITERAL) row[column] = null;
    else if (typeof value === 'string') row[column] = value;
    else if (typeof value === 'boolean') row[column] = String(value);
    else if (typeof value === 'number' && Number.isFinite(value)) row[column] = String(value);
    else return { problem: `field ${column}: a ${Array.isArray(value) ? 'list' : typeof value} value has no export form` };
  }
  return { row };
}
