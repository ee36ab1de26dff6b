import { exportRowFromRest } from './rest-export-row.js';
import type { MalformedRow } from './parser.js';
import type { RecordRow } from './rows.js';
import type { MarketoClient } from '../client.js';
import { isMarketoApiError } from '../errors.js';

/** Marketo's largest `filterValues` list: the most leads one Get Leads call can fetch. */
export const MAX_IDS_PER_CALL = 300;

/** What a caller reports a malformed line as (a ledger entry); the outcome is appended to its reason. */
export interface MalformedEntry {
  reason: string;
}

/** A malformed line of an export file and the entry that reports it (reason up to "skipped: …"). */
export interface MalformedRecord<E extends MalformedEntry = MalformedEntry> {
  bad: MalformedRow;
  entry: E;
}

export interface LeadRefetch<E extends MalformedEntry = MalformedEntry> {
  /** Rows as the file would have held them, one per lead Marketo still has, in the file's columns. */
  rows: RecordRow[];
  /**
   * Entries of records that need nothing more: re-fetched (their rows are in `rows`) or gone from
   * Marketo. To be recorded resolved once `rows` are committed.
   */
  resolved: E[];
  /** Entries that stay open: no readable lead id, or a fetch Marketo refused for good. */
  open: E[];
  apiCalls: number;
}

const LEAD_ID = /^[1-9]\d{0,15}$/;

function withOutcome<E extends MalformedEntry>(entry: E, outcome: string): E {
  return { ...entry, reason: `${entry.reason}; ${outcome}` };
}

/**
 * Fetches again, through REST, the leads of export lines that could not be read, so a damaged
 * line costs one Get Leads call per 300 such leads instead of the lead: `GET /rest/v1/leads.json`
 * with `filterType=id` and `fields` = the file's columns, through the project's client (rate
 * limit, retries and call counting as every other call). A lead Marketo no longer has (deleted or
 * merged away since the export) is not an error: its entry is resolved, saying so. A call
 * Marketo refuses for good (a column no longer readable, access denied) leaves the entries open
 * with Marketo's code; anything worth retrying (transport, rate limits, the daily quota) is
 * thrown, so the batch is not committed and a retry of the download fetches them again.
 */
export async function refetchMalformedLeads<E extends MalformedEntry>(
  marketo: Pick<MarketoClient, 'leads'>,
  columns: readonly string[] | undefined,
  malformed: readonly MalformedRecord<E>[],
): Promise<LeadRefetch<E>> {
  const out: LeadRefetch<E> = { rows: [], resolved: [], open: [], apiCalls: 0 };
  const byId = new Map<number, MalformedRecord<E>[]>();
  for (const m of malformed) {
    if (columns === undefined || !columns.includes('id') || m.bad.id === undefined || !LEAD_ID.test(m.bad.id)) {
      out.open.push(m.entry);
      continue;
    }
    const id = Number(m.bad.id);
    const same = byId.get(id);
    if (same) same.push(m);
    else byId.set(id, [m]);
  }
  const ids = [...byId.keys()];
  for (let at = 0; at < ids.length; at += MAX_IDS_PER_CALL) {
    const chunk = ids.slice(at, at + MAX_IDS_PER_CALL);
    let found: Map<number, Record<string, unknown>>;
    try {
      out.apiCalls += 1;
      const page = await marketo.leads.getByFilter({ filterType: 'id', filterValues: chunk, fields: [...columns!], batchSize: MAX_IDS_PER_CALL });
      found = new Map(page.items.map((lead) => [lead.id, lead]));
    } catch (err) {
      if (!isMarketoApiError(err) || err.retryable) throw err;
      for (const id of chunk) for (const m of byId.get(id)!) out.open.push(withOutcome(m.entry, `fetching lead ${id} again by id failed: Marketo ${err.code} ${err.marketoMessage}`));
      continue;
    }
    for (const id of chunk) {
      const entries = byId.get(id)!;
      const lead = found.get(id);
      if (!lead) {
        for (const m of entries) out.resolved.push(withOutcome(m.entry, `Marketo no longer has lead ${id} (deleted or merged since the export): nothing to write`));
        continue;
      }
      const converted = exportRowFromRest(lead, columns!);
      if (converted.problem !== undefined) {
        for (const m of entries) out.open.push(withOutcome(m.entry, `lead ${id} fetched again by id, but ${converted.problem}`));
        continue;
      }
      out.rows.push(converted.row);
      for (const m of entries) out.resolved.push(withOutcome(m.entry, `fetched again by id through REST and written with its batch`));
    }
  }
  return out;
}
