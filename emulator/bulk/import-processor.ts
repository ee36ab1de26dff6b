import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parse } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import type { Subscription } from '../subscription.js';
import { DELIMITERS } from './export-file.js';
import type { ImportOutcome } from './import-jobs.js';

export type ImportFormat = 'csv' | 'tsv' | 'ssv';

export type ImportTarget =
  | { kind: 'leads'; lookupField: string; listId?: number; partitionName?: string }
  | { kind: 'customObjects'; apiName: string }
  | { kind: 'programMembers'; programId: number; status: string };

export interface ImportSpec {
  /** The uploaded file, on disk. */
  filePath: string;
  format: ImportFormat;
  target: ImportTarget;
}

/** Rows applied per subscription call: the REST batch size, so imports cost what syncs cost. */
const CHUNK = 300;
const FAILURE_COLUMN = 'Import Failure Reason';
const WARNING_COLUMN = 'Import Warning Reason';
const MISSING_DEDUPE = 'missing.dedupe.fields';
const DUPLICATE_IN_FILE = 'Duplicate value for dedupe field in file: the last row wins';

/** A failures/warnings file opened on first use: the import format plus a trailing reason column. */
class ReasonFile {
  private out: Stringifier | undefined;
  private done: Promise<void> | undefined;
  count = 0;

  constructor(
    readonly path: string,
    private readonly header: string[],
    private readonly column: string,
    private readonly delimiter: string,
  ) {}

  async add(cells: string[], reason: string): Promise<void> {
    if (!this.out) {
      this.out = stringify({ delimiter: this.delimiter, record_delimiter: '\n' });
      this.done = pipeline(this.out, createWriteStream(this.path));
      this.out.write([...this.header, this.column]);
    }
    this.count++;
    if (!this.out.write([...cells, reason])) await once(this.out, 'drain');
  }

  async close(): Promise<string | undefined> {
    if (!this.out) return undefined;
    this.out.end();
    await this.done;
    return this.path;
  }
}

interface Row {
  cells: string[];
  record: Record<string, string>;
  /** Rejected before reaching the subscription: the reason, kept in line so the failures file stays in input order. */
  rejected?: string;
}

/**
 * Applies an uploaded import file to the subscription as a stream: csv-parse reads it, rows go to
 * the same upsert code the REST endpoints use in chunks of 300, and rejected rows are written to
 * the failures file with Marketo's reason as the last column. Paced to `rowsPerSecond`.
 */
export async function runImport(
  sub: Subscription,
  spec: ImportSpec,
  options: { failuresPath: string; warningsPath: string; rowsPerSecond: number; signal: AbortSignal },
): Promise<ImportOutcome> {
  const sleep = (ms: number) => delay(ms, undefined, { signal: options.signal });
  const delimiter = DELIMITERS[spec.format.toUpperCase() as 'CSV'];
  const parser = createReadStream(spec.filePath).pipe(parse({ delimiter, bom: true, relax_column_count: true, skip_empty_lines: true }));
  let header: string[] | undefined;
  let failures: ReasonFile | undefined;
  let warnings: ReasonFile | undefined;
  let processed = 0;
  let rows = 0;
  const started = Date.now();
  const dedupe = dedupeFieldsOf(sub, spec.target);
  const seenKeys = new Set<string>();
  let chunk: Row[] = [];

  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const current = chunk;
    chunk = [];
    const accepted = current.filter((r) => r.rejected === undefined);
    const outcomes = accepted.length ? apply(sub, spec.target, accepted.map((r) => r.record)) : [];
    let next = 0;
    for (const row of current) {
      const reason = row.rejected ?? outcomes[next++];
      if (reason === undefined) processed++;
      else await failures!.add(row.cells, reason);
    }
  };

  for await (const cells of parser as AsyncIterable<string[]>) {
    options.signal.throwIfAborted();
    if (!header) {
      header = cells;
      failures = new ReasonFile(options.failuresPath, header, FAILURE_COLUMN, delimiter);
      warnings = new ReasonFile(options.warningsPath, header, WARNING_COLUMN, delimiter);
      continue;
    }
    rows++;
    if (cells.length !== header.length) {
      chunk.push({ cells, record: {}, rejected: `Invalid number of columns: expected ${header.length}, got ${cells.length}` });
      continue;
    }
    const record: Record<string, string> = {};
    // Blank cells leave the field as it is, as list imports do by default.
    header.forEach((h, i) => {
      const v = cells[i];
      if (v !== undefined && v !== '') record[h] = v;
    });
    if (dedupe.some((f) => record[f] === undefined)) {
      chunk.push({ cells, record, rejected: MISSING_DEDUPE });
      continue;
    }
    const key = dedupe.map((f) => record[f]!.toLowerCase()).join('\u0000');
    if (seenKeys.has(key)) await warnings!.add(cells, DUPLICATE_IN_FILE);
    seenKeys.add(key);
    chunk.push({ cells, record });
    if (chunk.length >= CHUNK) await flush();
    if (options.rowsPerSecond > 0) {
      const ahead = (rows / options.rowsPerSecond) * 1000 - (Date.now() - started);
      if (ahead >= 10) await sleep(ahead);
    }
  }
  await flush();
  if (!header) throw new Error('Import failed: the file is empty');
  const failuresPath = await failures?.close();
  const warningsPath = await warnings?.close();
  return {
    processed,
    failed: failures?.count ?? 0,
    warnings: warnings?.count ?? 0,
    ...(failuresPath ? { failuresPath } : {}),
    ...(warningsPath ? { warningsPath } : {}),
  };
}

function dedupeFieldsOf(sub: Subscription, target: ImportTarget): string[] {
  switch (target.kind) {
    case 'leads':
      return [target.lookupField];
    case 'customObjects':
      return sub.objectType(target.apiName)?.dedupeFields ?? [];
    case 'programMembers':
      return ['email'];
  }
}

/** One reason text per record (undefined = imported), in input order. */
function apply(sub: Subscription, target: ImportTarget, records: Record<string, string>[]): (string | undefined)[] {
  switch (target.kind) {
    case 'leads': {
      // Marketo's import is an upsert, except by `id`: that key is system-managed, so rows only
      // update the lead with that id, and a row whose lead does not exist fails.
      const action = target.lookupField === 'id' ? 'updateOnly' : 'createOrUpdate';
      const results = sub.upsertLeads(records, { action, lookupField: target.lookupField, ...(target.partitionName ? { partitionName: target.partitionName } : {}) });
      if (target.listId !== undefined) {
        const ids = results.flatMap((r) => (r.status !== 'skipped' ? [r.id] : []));
        if (ids.length) sub.addToList(target.listId, ids);
      }
      return results.map((r) => (r.status === 'skipped' ? (r.reasons[0]?.message ?? 'Skipped') : undefined));
    }
    case 'customObjects': {
      const results = sub.syncObjects(target.apiName, records, { action: 'createOrUpdate', dedupeBy: 'dedupeFields' });
      const bySeq = new Map(results.map((r) => [r.seq, r]));
      return records.map((_, i) => {
        const r = bySeq.get(i);
        return r?.status === 'skipped' ? (r.reasons?.[0]?.message ?? 'Skipped') : undefined;
      });
    }
    case 'programMembers':
      return records.map((record) => {
        const [leadResult] = sub.upsertLeads([record], { lookupField: 'email' });
        if (!leadResult || leadResult.status === 'skipped') return leadResult?.reasons[0]?.message ?? 'Skipped';
        const outcome = sub.setProgramStatus(target.programId, leadResult.id, target.status);
        return outcome === 'skipped' ? 'Lead skipped because it is already in or past this status' : undefined;
      });
  }
}
