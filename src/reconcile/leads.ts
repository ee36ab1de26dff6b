import type { CrmConnector } from '../crm/connector.js';
import { BulkExtractApi } from '../marketo/bulk/extract.js';
import { planWindows } from '../marketo/bulk/windows.js';
import type { MarketoClient } from '../marketo/index.js';
import type { PersonMapping } from './person-mapping.js';
import { PersonReconciler, type ReconcileReport } from './persons.js';

export interface ReconcileLeadsOptions {
  marketo: MarketoClient;
  crm: Pick<CrmConnector, 'readChanges'>;
  mapping: PersonMapping;
  /** Leads created in [since, until] are compared (the bootstrap's low and high watermarks). */
  since: string;
  until: string;
  maxWindowDays?: number;
  /** Status poll interval of the reconcile's own bulk exports (Marketo: ≥ 60 s). */
  pollIntervalMs?: number;
  sampleLimit?: number;
}

/**
 * Reads every Marketo lead created in the range through bulk lead exports (one per ≤31-day
 * window, the same source the bootstrap uses) and compares each with the CRM.
 */
export async function reconcileLeads(options: ReconcileLeadsOptions): Promise<ReconcileReport> {
  const reconciler = new PersonReconciler(options.mapping, options.sampleLimit);
  await reconciler.loadCrm(options.crm);
  const api = new BulkExtractApi(options.marketo);
  const windows = planWindows({ startAt: options.since, endAt: options.until }, options.maxWindowDays === undefined ? {} : { maxDays: options.maxWindowDays });
  for (const window of windows) {
    await api.run(
      { kind: 'leads' },
      { format: 'CSV', fields: options.mapping.exportFields, filter: { createdAt: window } },
      { pollIntervalMs: options.pollIntervalMs ?? 60_000, queueFullRetryMs: options.pollIntervalMs ?? 60_000 },
      (row) => reconciler.check(row),
    );
  }
  return reconciler.report();
}
