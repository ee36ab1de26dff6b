import type pg from 'pg';
import { z } from 'zod';

export const LedgerStatus = z.enum(['open', 'retrying', 'ignored', 'resolved']);
export type LedgerStatus = z.infer<typeof LedgerStatus>;

export const RecordFailure = z.object({
  entity: z.string().min(1),
  /** The record's key (Marketo id, CRM id or dedupe key): never a field value other than a key. */
  recordKey: z.string().min(1),
  operation: z.string().min(1),
  source: z.enum(['marketo', 'crm']),
  code: z.string().min(1),
  reason: z.string(),
});
export type RecordFailure = z.infer<typeof RecordFailure>;

export interface LedgerEntry extends RecordFailure {
  id: string;
  attempts: number;
  status: LedgerStatus;
  firstSeen: Date;
  lastSeen: Date;
}

const MAX_REASON = 500;

/**
 * Reasons come from Marketo and from the CRM database; database messages quote offending values
 * (`invalid input syntax for type integer: "abc"`, `Key (email)=(a@b.c) already exists`). Lead
 * field values are PII and must not land in the ledger, so quoted and keyed values are masked.
 * Marketo's single-quoted names (`Invalid value for field 'x'`) are field names and are kept.
 */
export function redactReason(reason: string): string {
  return reason
    .replace(/=\([^)]*\)/g, '=(…)')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_REASON);
}

const COLUMNS = `id::text AS id, entity, record_key AS "recordKey", operation, source, code, reason, attempts, status,
  first_seen AS "firstSeen", last_seen AS "lastSeen"`;

/** Per-record failures that must not fail a batch: recorded, retried, ignored or resolved. */
export class ErrorLedgerRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  /**
   * Records failures set-based; a repeat of an existing (entity, key, operation) counts one more
   * attempt and reopens it unless ignored. `client`: inside that connection's transaction (a
   * writer that records its refused records along with the rest of its batch).
   */
  async record(failures: readonly RecordFailure[], client?: pg.ClientBase): Promise<void> {
    if (failures.length === 0) return;
    const rows = failures.map((f) => RecordFailure.parse(f));
    await (client ?? this.pool).query(
      `INSERT INTO ${this.schema}.error_ledger (entity, record_key, operation, source, code, reason)
       SELECT DISTINCT ON (e, k, o) e, k, o, s, c, r
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(e, k, o, s, c, r)
       ON CONFLICT (entity, record_key, operation) DO UPDATE SET
         source = EXCLUDED.source, code = EXCLUDED.code, reason = EXCLUDED.reason,
         attempts = error_ledger.attempts + 1, last_seen = now(),
         status = CASE WHEN error_ledger.status = 'ignored' THEN 'ignored' ELSE 'open' END`,
      [
        rows.map((f) => f.entity),
        rows.map((f) => f.recordKey),
        rows.map((f) => f.operation),
        rows.map((f) => f.source),
        rows.map((f) => f.code),
        rows.map((f) => redactReason(f.reason)),
      ],
    );
  }

  /** Marks the entries of records that went through on a later attempt. */
  resolve(entity: string, operation: string, recordKeys: readonly string[]): Promise<number> {
    return this.resolveRecords(
      operation,
      recordKeys.map((recordKey) => ({ entity, recordKey })),
    );
  }

  /**
   * `resolve` for records of several entities at once (one statement instead of one per entity):
   * a writer of leads and contacts resolves both kinds of entries in a single round trip. The
   * uncorrelated EXISTS runs once (a one-time filter): while the operation has no open entry,
   * which is the usual case, the per-record probes are skipped.
   */
  async resolveRecords(operation: string, records: readonly { entity: string; recordKey: string }[]): Promise<number> {
    if (records.length === 0) return 0;
    const res = await this.pool.query(
      `UPDATE ${this.schema}.error_ledger l SET status = 'resolved', last_seen = now()
       FROM (SELECT DISTINCT e, k FROM unnest($2::text[], $3::text[]) AS u(e, k)) u
       WHERE EXISTS (SELECT 1 FROM ${this.schema}.error_ledger g WHERE g.operation = $1 AND g.status IN ('open', 'retrying'))
         AND l.entity = u.e AND l.record_key = u.k AND l.operation = $1 AND l.status IN ('open', 'retrying')`,
      [operation, records.map((r) => r.entity), records.map((r) => r.recordKey)],
    );
    return res.rowCount ?? 0;
  }

  /** An operator asks for another attempt: open entries become `retrying` and show up in `dueForRetry`. */
  async retry(ids: readonly string[]): Promise<number> {
    const res = await this.pool.query(
      `UPDATE ${this.schema}.error_ledger SET status = 'retrying' WHERE id = ANY($1::bigint[]) AND status IN ('open', 'ignored')`,
      [ids],
    );
    return res.rowCount ?? 0;
  }

  async ignore(ids: readonly string[]): Promise<number> {
    const res = await this.pool.query(
      `UPDATE ${this.schema}.error_ledger SET status = 'ignored' WHERE id = ANY($1::bigint[]) AND status <> 'resolved'`,
      [ids],
    );
    return res.rowCount ?? 0;
  }

  async dueForRetry(entity: string, operation: string, limit = 300): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${this.schema}.error_ledger
       WHERE entity = $1 AND operation = $2 AND status = 'retrying' ORDER BY last_seen, id LIMIT $3`,
      [entity, operation, limit],
    );
    return rows as LedgerEntry[];
  }

  async list(filter: { status?: LedgerStatus; entity?: string; limit?: number } = {}): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM ${this.schema}.error_ledger
       WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR entity = $2)
       ORDER BY last_seen DESC, id DESC LIMIT $3`,
      [filter.status ? LedgerStatus.parse(filter.status) : null, filter.entity ?? null, filter.limit ?? 100],
    );
    return rows as LedgerEntry[];
  }

  async counts(): Promise<Record<LedgerStatus, number>> {
    const { rows } = await this.pool.query(`SELECT status, count(*)::int AS n FROM ${this.schema}.error_ledger GROUP BY status`);
    const out: Record<LedgerStatus, number> = { open: 0, retrying: 0, ignored: 0, resolved: 0 };
    for (const r of rows as { status: LedgerStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }
}
