import type { CrmConnector } from '../src/crm/connector.js';
import type { RowByKind } from '../src/marketo/bulk/rows.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import type { ExportSource, ExportWindow, LoadedAlongside } from '../workflows/bootstrap-types.js';

/**
 * Where the rows of one bulk export go. `ingestBulkExport` streams the file, parses each row with
 * the schema of `source.kind` and hands batches to the sink named by the window's `sink`; it
 * heartbeats the file position after every batch the sink returned from, so a sink must have
 * committed the batch when `write` resolves, and writing the same batch twice must change nothing
 * (upserts keyed on Marketo's ids).
 */
export interface IngestSinkDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
}

export interface IngestBatchContext {
  /** The bootstrap run (workflow id): groups what sinks stage for later phases. */
  runId: string;
  source: ExportSource;
}

export interface IngestBatchOutcome {
  written: number;
  /** Rows refused (each one recorded in the error ledger by the sink). */
  failed: number;
  /** Marketo calls the sink itself made (e.g. lookups), counted into the phase's API calls. */
  apiCalls?: number;
  /** Records of other phases the sink loaded first (their calls not in `apiCalls`): counted into those phases. */
  loaded?: LoadedAlongside;
}

export interface IngestSinkImpl<K extends keyof RowByKind = keyof RowByKind> {
  /** The export kind whose rows this sink takes (checked against the window's source). */
  readonly rowKind: K;
  /**
   * The create-export body for one window of `source` (which fields to read, the filter), as
   * Marketo's create endpoint of `rowKind` takes it; `ingestBulkExport` then parses what comes back.
   */
  exportRequest(source: ExportSource, window: ExportWindow): Promise<Record<string, unknown>>;
  write(rows: RowByKind[K][], ctx: IngestBatchContext): Promise<IngestBatchOutcome>;
}

export type IngestSinkFactory = (deps: IngestSinkDeps) => IngestSinkImpl;
