import { BulkExtractApi } from '../marketo/bulk/extract.js';
import { planWindows } from '../marketo/bulk/windows.js';
import type { MarketoClient } from '../marketo/index.js';
import { textOrNull } from '../marketo/values.js';

export interface LeadScanOptions {
  /** Leads created in [since, until] are read (bulk lead export by createdAt, ≤31-day windows). */
  since: string;
  until: string;
  maxWindowDays?: number;
  /** Status poll interval of the exports (Marketo refreshes status at most once a minute). */
  pollIntervalMs?: number;
  progress?: ((line: string) => void) | undefined;
}

/** What one pass over Marketo's leads found: every lead id and the company/salesperson keys they carry. */
export interface LeadScan {
  leadIds: Set<number>;
  companyKeys: Set<string>;
  salesPersonKeys: Set<string>;
  windows: number;
  rows: number;
}

/**
 * Reads Marketo's leads through bulk lead exports (one per window, the bootstrap's own source),
 * collecting ids and reference keys and handing each row to `onRow` (the person comparison).
 * The fields must include id, externalCompanyId and externalSalesPersonId.
 */
export async function scanLeads(marketo: MarketoClient, fields: readonly string[], options: LeadScanOptions, onRow?: (row: Record<string, string | null>) => void): Promise<LeadScan> {
  const scan: LeadScan = { leadIds: new Set(), companyKeys: new Set(), salesPersonKeys: new Set(), windows: 0, rows: 0 };
  const api = new BulkExtractApi(marketo);
  const poll = options.pollIntervalMs ?? 60_000;
  const windows = planWindows({ startAt: options.since, endAt: options.until }, options.maxWindowDays === undefined ? {} : { maxDays: options.maxWindowDays });
  for (const window of windows) {
    scan.windows += 1;
    await api.run({ kind: 'leads' }, { format: 'CSV', fields: [...fields], filter: { createdAt: window } }, { pollIntervalMs: poll, queueFullRetryMs: poll }, (row) => {
      scan.rows += 1;
      const id = textOrNull(row.id);
      if (id === null) throw new Error('a lead row without its id column: the export must include id');
      scan.leadIds.add(Number(id));
      const company = textOrNull(row.externalCompanyId);
      if (company !== null) scan.companyKeys.add(company);
      const sales = textOrNull(row.externalSalesPersonId);
      if (sales !== null) scan.salesPersonKeys.add(sales);
      onRow?.(row);
    });
    options.progress?.(`lead export ${scan.windows}/${windows.length} (${window.startAt} .. ${window.endAt}): ${scan.rows} leads so far`);
  }
  return scan;
}
