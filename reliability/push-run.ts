import { ApplicationFailure } from '@temporalio/common';
import { createPushActivities, type PushActivities } from '../activities/push.js';
import type { CrmRecord } from '../src/crm/connector.js';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { bulkService } from '../emulator/bulk/service.js';
import { Scenario } from './scenario.js';
import type { Host } from './stack.js';

/**
 * The CRM → Marketo direction: contacts a CRM user created, pushed by the push activities as the
 * worker registers them (called directly, with the retry Temporal would apply to a retryable
 * failure), into an emulator with the `crmId` lead field the mapping uses as lookup field.
 */
export interface PushScenario {
  scenario: Scenario;
  user: PostgresCrmConnector;
  activities: PushActivities;
  contactIds: string[];
  close(): Promise<void>;
}

export async function openPushScenario(
  host: Host,
  opts: { contacts: number; bulkThreshold: number; failImports?: number; records?: (i: number) => CrmRecord },
): Promise<PushScenario> {
  const scenario = await Scenario.open(host, { leads: 10, from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z', emulator: { bulk: { import: { rowsPerSecond: 0 } } } });
  scenario.emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  if (opts.failImports) bulkService(scenario.emulator.subscription).imports.failNext = opts.failImports;
  const user = await PostgresCrmConnector.open({ connectionString: scenario.db.url, writeOrigin: 'user' });
  const make = opts.records ?? ((i: number) => ({ email: `push-${i}@reliability.example`, first_name: `Pushfirst${i}`, last_name: `Pushlast${i}` }));
  const records = Array.from({ length: opts.contacts }, (_, i) => make(i));
  const results = await user.upsert('contact', records, { keyField: 'id' });
  const contactIds = results.map((r) => {
    if (r.status === 'failed') throw new Error(`fixture contact refused by the CRM: ${r.code} ${r.reason}`);
    return r.id;
  });
  const activities = createPushActivities({ marketo: scenario.marketo, store: scenario.store, crm: scenario.crm, pushOptions: { bulkPollIntervalMs: 20, bulkThreshold: opts.bulkThreshold } });
  return {
    scenario,
    user,
    activities,
    contactIds,
    close: async () => {
      await user.close();
      await scenario.close();
    },
  };
}

/** Calls pushLeads until it has nothing more, retrying retryable failures as the workflow's retry policy would. */
export async function pushUntilDone(p: PushScenario, maxAttempts: number): Promise<{ done: boolean; summary: string }> {
  let written = 0;
  let skipped = 0;
  let retries = 0;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const r = await p.activities.pushLeads();
      written += r.written;
      skipped += r.skipped;
      if (!r.hasMore) return { done: true, summary: `pushed: ${written} written, ${skipped} ledgered, ${retries} retried failures` };
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.nonRetryable) {
        return { done: false, summary: `push stopped by a non-retryable failure: ${(err as Error).message}` };
      }
      retries++;
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(retries, 5))));
    }
  }
  return { done: false, summary: `push not done after ${maxAttempts} attempts (${written} written, ${retries} retried failures)` };
}

/** Each pushed contact must be one Marketo lead (by `crmId`); ledger entries are reported too. */
export async function verifyPush(p: PushScenario): Promise<{ lost: number; duplicates: number; ledgered: number; detail: string }> {
  const sub = p.scenario.emulator.subscription;
  const byCrmId = new Map<string, number>();
  for (const lead of sub.iterateLeads()) {
    const crmId = sub.leadValue(lead.id, 'crmId');
    if (typeof crmId === 'string' && crmId !== '') byCrmId.set(crmId, (byCrmId.get(crmId) ?? 0) + 1);
  }
  const lost = p.contactIds.filter((id) => !byCrmId.has(id)).length;
  const duplicates = p.contactIds.filter((id) => (byCrmId.get(id) ?? 0) > 1).length;
  const ledger = await p.scenario.store.errors.list({ status: 'open' });
  const codes = [...new Set(ledger.map((e) => e.code))].join(', ');
  return {
    lost,
    duplicates,
    ledgered: ledger.length,
    detail: `${p.contactIds.length - lost}/${p.contactIds.length} contacts in Marketo${duplicates ? `, ${duplicates} twice` : ''}; ledger ${ledger.length}${codes ? ` (${codes})` : ''}`,
  };
}
