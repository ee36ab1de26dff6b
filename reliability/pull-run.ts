import { ApplicationFailure } from '@temporalio/common';
import { createPullActivities, type PullActivities, type PullStepSummary } from '../activities/pull.js';
import { LEADS_STREAM } from '../src/sync/pull/index.js';
import { Scenario } from './scenario.js';
import type { Host } from './stack.js';

/**
 * The Marketo → CRM direction of the sync loop: leads Marketo users created after the loop's
 * last read, pulled by step 4 as the worker registers it (called directly, with the retry
 * Temporal would apply to a retryable failure). Through the Bulk Lead Extract route from
 * `bulkThreshold` changed leads on.
 */
export interface PullScenario {
  scenario: Scenario;
  activities: PullActivities;
  /** Marketo ids of the leads created after the watermark, with the values each CRM person must carry. */
  created: { id: number; email: string; firstName: string }[];
  close(): Promise<void>;
}

export async function openPullScenario(host: Host, opts: { leads: number; bulkThreshold: number }): Promise<PullScenario> {
  const scenario = await Scenario.open(host, { leads: 10, from: '2024-01-01T00:00:00Z', to: '2024-01-02T00:00:00Z', emulator: { bulk: { export: { rowsPerSecond: 0 } } } });
  const sub = scenario.emulator.subscription;
  sub.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  // Where a finished bootstrap leaves the loop: its watermark, a second before the users' changes.
  await scenario.store.watermarks.set(LEADS_STREAM, { watermark: new Date((scenario.emulator.runtime.clock.nowSeconds() - 1) * 1000) });
  const created = Array.from({ length: opts.leads }, (_, i) => {
    const values = { email: `pull-${i}@reliability.example`, firstName: `Pullfirst${i}` };
    return { id: sub.createLead({ ...values, lastName: `Pulllast${i}` }, 1, 'Web client'), ...values };
  });
  const activities = createPullActivities({ marketo: scenario.marketo, store: scenario.store, crm: scenario.crm, pullOptions: { bulkPollIntervalMs: 20, bulkThreshold: opts.bulkThreshold } });
  return { scenario, activities, created, close: () => scenario.close() };
}

/** Step 4 until it says nothing more, retrying retryable failures as the workflow's retry policy would. */
export async function pullLeadsUntilDone(p: PullScenario, maxAttempts: number): Promise<{ done: boolean; retries: number; steps: PullStepSummary[]; summary: string }> {
  const steps: PullStepSummary[] = [];
  let retries = 0;
  let lastError = '';
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const r = await p.activities.pullLeadsAndCompanies();
      steps.push(r);
      if (!r.hasMore) {
        const written = steps.reduce((n, s) => n + s.written, 0);
        const skipped = steps.reduce((n, s) => n + s.skipped, 0);
        return { done: true, retries, steps, summary: `step 4 ${steps.map((s) => s.mode).join(', ')}: ${written} written, ${skipped} ledgered, ${retries} retried failures` };
      }
    } catch (err) {
      // Like Temporal: only a failure marked non-retryable ends the step; any other error is retried.
      if (err instanceof ApplicationFailure && err.nonRetryable) {
        return { done: false, retries, steps, summary: `step 4 stopped by a non-retryable failure: ${(err as Error).message}` };
      }
      retries++;
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(retries, 5))));
    }
  }
  return { done: false, retries, steps, summary: `step 4 not done after ${maxAttempts} attempts (${retries} retried failures; last: ${lastError})` };
}

/** Each created lead must be one CRM person (lead or contact) carrying its values. */
export async function verifyPull(p: PullScenario): Promise<{ lost: number; duplicates: number; wrong: number; detail: string }> {
  const { rows } = await p.scenario.crm.pool.query<{ id: string; email: string | null; first_name: string | null }>(
    `SELECT marketo_lead_id::text AS id, email, first_name FROM crm.leads WHERE marketo_lead_id = ANY($1::bigint[])
     UNION ALL SELECT marketo_lead_id::text, email, first_name FROM crm.contacts WHERE marketo_lead_id = ANY($1::bigint[])`,
    [p.created.map((c) => c.id)],
  );
  const byId = new Map<string, { email: string | null; first_name: string | null }[]>();
  for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  let lost = 0;
  let duplicates = 0;
  let wrong = 0;
  for (const c of p.created) {
    const held = byId.get(String(c.id)) ?? [];
    if (held.length === 0) lost++;
    if (held.length > 1) duplicates++;
    if (held.some((h) => h.email !== c.email || h.first_name !== c.firstName)) wrong++;
  }
  return { lost, duplicates, wrong, detail: `${p.created.length - lost}/${p.created.length} Marketo-created leads in the CRM${wrong ? `, ${wrong} with values unlike Marketo's` : ''}` };
}
