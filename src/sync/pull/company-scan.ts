import { z } from 'zod';
import type { CrmConnector } from '../../crm/connector.js';
import type { StateStore } from '../../store/state-store.js';
import { pullCompanies, type CompanyPullDeps } from './companies.js';
import type { PullContext } from './context.js';

/**
 * The company scan's stream. `watermark`: companies Marketo updated at or after it are pulled by
 * the next scan; the cursor keeps when the last scan ran (on the pull's clock), which sets the
 * cadence.
 */
export const COMPANIES_STREAM = 'marketo:companies';

/**
 * Marketo and the worker do not share a clock: the next scan looks this far back before the
 * moment this one started. Companies that did not change are compared and left alone, so
 * looking back costs nothing but the comparison.
 */
const CLOCK_MARGIN_MS = 60 * 60_000;

const Cursor = z.strictObject({ v: z.literal(1), scannedAt: z.iso.datetime() });

export interface CompanyScanDeps extends CompanyPullDeps {
  crm: CompanyPullDeps['crm'] & Pick<CrmConnector, 'readChanges'>;
  store: CompanyPullDeps['store'] & Pick<StateStore, 'watermarks' | 'errors'>;
}

export interface CompanyScanResult {
  /** Whether the scan was due and ran (false: nothing read, no call). */
  ran: boolean;
  /** CRM accounts whose Marketo company was asked for. */
  checked: number;
  written: number;
  failed: number;
  calls: number;
}

/**
 * Companies changed in Marketo with no change on any lead leave no activity (Marketo logs none
 * for companies) and Get Companies has no filter on `updatedAt`. So on a cadence (`everyHours`,
 * default daily) every company the CRM holds is read by externalCompanyId, 300 a call, with
 * `updatedAt`; those Marketo updated since the last scan are written to their accounts (those
 * whose values the account already holds are left alone). The first time the stream is seen it
 * only starts (at the lead stream's start): the bootstrap has just copied every company.
 */
export async function scanCompanies(
  deps: CompanyScanDeps,
  context: PullContext,
  options: { everyHours: number; batchSize: number; operation: string; now: Date; startAt: Date },
): Promise<CompanyScanResult> {
  const idle: CompanyScanResult = { ran: false, checked: 0, written: 0, failed: 0, calls: 0 };
  if (options.everyHours <= 0 || !context.schemas.company) return idle;
  const entity = context.config.entities.find((e) => e.marketo === 'company' && e.crm === 'account' && e.enabled);
  if (!entity || !entity.fields.some((f) => f.enabled && f.direction !== 'toMarketo')) return idle;

  const row = await deps.store.watermarks.get(COMPANIES_STREAM);
  const cursor = row?.cursor ? Cursor.safeParse(safeJson(row.cursor)) : undefined;
  if (!row?.watermark || !cursor?.success) {
    await save(deps, options.startAt, options.now);
    return idle;
  }
  if (options.now.getTime() - Date.parse(cursor.data.scannedAt) < options.everyHours * 3_600_000) return idle;

  const keys = await accountKeys(deps.crm);
  const result = await pullCompanies(deps, context, keys, { batchSize: options.batchSize, operation: options.operation, updatedSince: row.watermark });
  await deps.store.errors.record(result.failures);
  const written = new Set(result.accounts.keys());
  const ok = keys.filter((k) => written.has(k));
  if (ok.length > 0) await deps.store.errors.resolve('account', options.operation, ok);
  // Moves last: a scan that failed part-way is repeated whole by the next run.
  await save(deps, new Date(Math.max(row.watermark.getTime(), options.now.getTime() - CLOCK_MARGIN_MS)), options.now);
  return { ran: true, checked: keys.length, written: result.written, failed: result.failures.length, calls: result.calls };
}

async function save(deps: Pick<CompanyScanDeps, 'store'>, watermark: Date, scannedAt: Date): Promise<void> {
  await deps.store.watermarks.set(COMPANIES_STREAM, { watermark, cursor: JSON.stringify({ v: 1, scannedAt: scannedAt.toISOString() }) });
}

/**
 * The Marketo key of every CRM account: the kept `external_company_id` of a company that came
 * from Marketo, else the CRM id (the push writes it to externalCompanyId).
 */
async function accountKeys(crm: Pick<CrmConnector, 'readChanges'>): Promise<string[]> {
  const keys = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await crm.readChanges('account', { since: new Date(0), includeOwnWrites: true, snapshot: true, limit: 10_000, ...(cursor ? { cursor } : {}) });
    for (const c of page.changes) {
      if (c.kind !== 'upsert') continue;
      const kept = c.record.external_company_id;
      keys.add(kept === null || kept === undefined || kept === '' ? c.id : String(kept));
    }
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  return [...keys];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
