import { defineQuery, defineSignal, isCancellation, patched, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { OnDemandActivities, OnDemandSyncInput, OnDemandSyncResult } from '../activities/on-demand.js';
import { withQuotaPause, type QuotaPause } from './quota.js';
import { markSyncState } from './search-attributes.js';

// A local activity: it runs inside the workflow task on the worker that took it, which saves the
// activity task round trips through the server (two of the four the run would otherwise need)
// and keeps a webhook's path to the CRM short. One lead is a coalesced read and one upsert.
const { syncLeadOnDemand } = proxyLocalActivities<OnDemandActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** The deterministic workflow id for a lead: every webhook for that lead addresses the same workflow. */
export function onDemandWorkflowId(leadId: number): string {
  return `on-demand-${leadId}`;
}

/** Another webhook arrived for the lead while this run was open. */
export const syncRequestedSignal = defineSignal<[{ requestId: string }]>('syncRequested');

export interface OnDemandSyncStatus {
  state: 'syncing' | 'quota-paused' | 'done';
  /** Syncs run so far; more than one when webhooks arrived while a sync was reading. */
  passes: number;
  /** Webhooks this run has absorbed (its start included). */
  requests: number;
  quotaPause?: QuotaPause;
  last?: OnDemandSyncResult;
}

export const onDemandStatusQuery = defineQuery<OnDemandSyncStatus>('status');

/** The last pass's result, with what the whole run did. */
export interface OnDemandSyncSummary extends OnDemandSyncResult {
  passes: number;
  requests: number;
  /**
   * Recorded passes that wrote the CRM record (created or updated). A local activity attempt whose
   * workflow task was superseded (signals arrived meanwhile) is run again on replay; its write is
   * idempotent and the repeat then reports `unchanged`, so this can undercount, never overcount.
   */
  writes: number;
}

/**
 * Syncs one Marketo lead to the CRM. The receiver starts it with signal-with-start under
 * `on-demand-<leadId>`: a webhook for a lead whose run is open only signals it. A webhook that
 * lands before the run read the lead is covered by that read; one that lands after may announce a
 * change the read missed, so the run syncs again once more (all such webhooks together cause one
 * more pass, and an unchanged lead is not written again). After the run closed, the next webhook
 * starts a new run under the same id.
 */
export async function onDemandSync(input: OnDemandSyncInput): Promise<OnDemandSyncSummary> {
  let pending = true;
  const status: OnDemandSyncStatus = { state: 'syncing', passes: 0, requests: 1 };
  setHandler(syncRequestedSignal, ({ requestId }) => {
    // Signal-with-start delivers the starting webhook's own signal too; its request is this run's input.
    if (requestId === input.requestId) return;
    status.requests += 1;
    pending = true;
  });
  setHandler(onDemandStatusQuery, () => status);
  // Runs recorded before the search attributes existed replay without their upserts.
  const marked = patched('marketo-search-attributes');
  const mark = (state: OnDemandSyncStatus['state'] | 'failed' | 'cancelled') => marked && markSyncState(state);
  let last: OnDemandSyncResult | undefined;
  let writes = 0;
  try {
    while (pending) {
      pending = false;
      status.passes += 1;
      last = await withQuotaPause(
        () => syncLeadOnDemand(input),
        (pause) => {
          status.state = pause ? 'quota-paused' : 'syncing';
          mark(status.state);
          if (pause) status.quotaPause = pause;
          else delete status.quotaPause;
        },
      );
      status.last = last;
      if (last.outcome === 'created' || last.outcome === 'updated') writes += 1;
    }
  } catch (err) {
    mark(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  status.state = 'done';
  mark('done');
  return { ...last!, passes: status.passes, requests: status.requests, writes };
}
