import type { CrmConnector, CrmRecord } from '../src/crm/connector.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import type { PersonMapping, PersonType } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import type { IdLink } from '../src/store/id-map.js';
import type { BootstrapStaging, StagedPerson } from './bootstrap-staging.js';

export interface LeadSinkDeps {
  crm: Pick<CrmConnector, 'upsert'>;
  store: Pick<StateStore, 'errors' | 'idMap'>;
  staging: BootstrapStaging;
}

export interface BatchOutcome {
  written: number;
  failed: number;
}

const OPERATION = 'bootstrap';

/**
 * Writes one batch of exported leads into the CRM: mapped, routed to lead or contact, upserted
 * keyed on the Marketo lead id (a retried window overwrites, never duplicates), linked in the id
 * map, with their company/salesperson keys staged for the later phases. Records that cannot be
 * mapped or written go to the error ledger; the batch carries on.
 */
export async function writeLeadBatch(deps: LeadSinkDeps, mapping: PersonMapping, runId: string, rows: readonly RecordRow[]): Promise<BatchOutcome> {
  const failures: RecordFailure[] = [];
  const byType: Record<PersonType, { marketoId: string; record: CrmRecord }[]> = { lead: [], contact: [] };
  const staged: StagedPerson[] = [];
  for (const row of rows) {
    const mapped = mapping.map(row);
    staged.push({ marketoId: mapped.marketoId, type: mapped.type, ...mapped.refs });
    if (!mapped.outcome.ok) {
      failures.push({ entity: mapped.type, recordKey: mapped.marketoId, operation: OPERATION, source: 'marketo', code: 'MAPPING', reason: mapped.outcome.errors.join('; ') });
      continue;
    }
    byType[mapped.type].push({ marketoId: mapped.marketoId, record: mapped.outcome.record });
  }
  const links: IdLink[] = [];
  const keyField = mapping.config.leadKey.crmMarketoIdField;
  // Leads failing here stay staged: their keys still name companies/salespersons Marketo has.
  // Staging and the two upserts touch different tables, so they run side by side.
  const staging = deps.staging.stage(runId, staged);
  // Should an upsert throw first, the staging outcome is still awaited (below) or deliberately dropped here.
  void staging.catch(() => undefined);
  await Promise.all(
    (['lead', 'contact'] as const).map(async (type) => {
      const batch = byType[type];
      if (batch.length === 0) return;
      const results = await deps.crm.upsert(
        type,
        batch.map((b) => b.record),
        { keyField },
      );
      for (const r of results) {
        const marketoId = batch[r.index]!.marketoId;
        if (r.status === 'failed') failures.push({ entity: type, recordKey: marketoId, operation: OPERATION, source: 'crm', code: r.code, reason: r.reason });
        else links.push({ entity: 'lead', marketoId, crmType: type, crmId: r.id });
      }
    }),
  );
  await Promise.all([deps.store.idMap.link(links), deps.store.errors.record(failures), staging]);
  return { written: links.length, failed: failures.length };
}
