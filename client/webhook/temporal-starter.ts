import { WorkflowFailedError, type Client } from '@temporalio/client';
import { onDemandSync, syncRequestedSignal } from '../../workflows/index.js';
import { onDemandWorkflowId } from '../../workflows/on-demand-sync.js';
import { MarkedStarter } from '../runtime/start-attributes.js';
import type { SyncAwaiter, SyncOutcome, SyncStarter } from './server.js';

/**
 * Signal-with-start under `on-demand-<leadId>`: a lead with an open run gets a signal (the run
 * decides whether another pass is needed), a lead without one gets a new run. Closed runs do not
 * block the id (Temporal's default reuse policy allows a new run after one closed), so a later
 * webhook always syncs again. Only the lead id and the request id enter workflow history.
 */
export function temporalSyncStarter(client: Client, taskQueue: string, log?: (line: string) => void): SyncStarter {
  // A new run is marked onDemand/syncing; a signal to an open run leaves its attributes as they are.
  const marked = new MarkedStarter(log);
  return async (leadId, requestId) => {
    const workflowId = onDemandWorkflowId(leadId);
    const handle = await marked.start('onDemand', 'syncing', (attributes) =>
      client.workflow.signalWithStart(onDemandSync, {
        workflowId,
        taskQueue,
        args: [{ leadId, requestId }],
        signal: syncRequestedSignal,
        signalArgs: [{ requestId }],
        ...attributes,
      }),
    );
    return { workflowId, runId: handle.signaledRunId };
  };
}

/**
 * Wait mode's awaiter: the result of the run the request started or signalled (a signalled run's
 * result covers the request: it makes one more pass for any webhook that may have come too late
 * for its read). A run that failed outright answers `failed`; an abort rejects.
 */
export function temporalSyncAwaiter(client: Client): SyncAwaiter {
  return async (started, signal) => {
    try {
      const r = await client.withAbortSignal(signal, () => client.workflow.getHandle<typeof onDemandSync>(started.workflowId, started.runId).result());
      const out: SyncOutcome = { outcome: r.outcome };
      if (r.crmType !== undefined) out.crmType = r.crmType;
      if (r.crmId !== undefined) out.crmId = r.crmId;
      if (r.code !== undefined) out.code = r.code;
      return out;
    } catch (err) {
      if (err instanceof WorkflowFailedError) return { outcome: 'failed', code: 'WORKFLOW_FAILED' };
      throw err;
    }
  };
}
