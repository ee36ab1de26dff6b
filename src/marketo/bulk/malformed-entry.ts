import type { RecordFailure } from '../../store/error-ledger.js';
import type { MalformedRow } from './parser.js';

/**
 * A line of an export file that could not be read, as an error-ledger entry: keyed by export and
 * data record number (stable across resumed downloads, so a re-read counts one more attempt
 * instead of a second entry). The reason names the line, the byte it ends at and the Marketo key
 * when readable, so an operator can find the record in the file and fetch it again; never the
 * line's values, which may be lead data.
 */
export function malformedLineEntry(entity: string, operation: string, exportId: string, bad: MalformedRow, record: number): RecordFailure {
  return {
    entity,
    recordKey: `export ${exportId} record ${record}`,
    operation,
    source: 'marketo',
    code: 'MALFORMED_ROW',
    reason: `export ${exportId}: data record ${record} (line ${bad.line}, ends at byte ${bad.end}${bad.id === undefined ? '' : `, key ${bad.id}`}) skipped: ${bad.reason}`,
  };
}
