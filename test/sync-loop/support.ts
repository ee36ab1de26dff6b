import type { NativeConnection } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import type { CrmRecord } from '../../src/crm/connector.js';
import type { EmulatorOptions } from '../../emulator/index.js';
import type { SyncStatus } from '../../workflows/sync-types.js';
import { syncStatusQuery, type syncLoop } from '../../workflows/index.js';
import { startHarness, type WorkflowHarness } from '../workflows/support.js';

/**
 * The loop's real surroundings: emulator (with the `crmId` lead field the push uses as lookup
 * field), Postgres CRM and state store, a worker with every registered activity, and a CRM user
 * whose edits the push must carry to Marketo.
 */
export interface SyncHarness extends WorkflowHarness {
  user: {
    insert(entity: string, records: CrmRecord[]): Promise<string[]>;
    update(entity: string, records: CrmRecord[]): Promise<void>;
  };
  /** Calls the emulator counted against the quota so far, in all. */
  countedCalls(): number;
  /** Calls per endpoint so far. */
  calls(): Record<string, number>;
}

export async function startSyncHarness(connection: NativeConnection, emulator: EmulatorOptions = {}): Promise<SyncHarness> {
  const h = await startHarness(connection, { emulator });
  h.emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  const userConnector = await PostgresCrmConnector.open({ connectionString: h.db.url, writeOrigin: 'user' });
  const endpoints = () => Object.entries(h.emulator.runtime.stats.snapshot().endpoints);
  return {
    ...h,
    user: {
      async insert(entity, records) {
        const results = await userConnector.upsert(entity, records, { keyField: 'id' });
        return results.map((r) => {
          if (r.status === 'failed') throw new Error(`fixture insert into ${entity} failed: ${r.code} ${r.reason}`);
          return r.id;
        });
      },
      async update(entity, records) {
        for (const r of await userConnector.upsert(entity, records, { keyField: 'id', updateOnly: true })) {
          if (r.status === 'failed') throw new Error(`fixture update of ${entity} failed: ${r.code} ${r.reason}`);
        }
      },
    },
    countedCalls: () => endpoints().reduce((n, [, e]) => n + e.counted, 0),
    calls: () => Object.fromEntries(endpoints().map(([k, v]) => [k, v.calls])),
    close: async () => {
      await userConnector.close();
      await h.close();
    },
  };
}

/** Polls the loop's `status` query until `done` holds (the workflow is not waited on, so time does not skip). */
export async function statusWhen(handle: WorkflowHandle<typeof syncLoop>, done: (s: SyncStatus) => boolean, what: string): Promise<SyncStatus> {
  let last: SyncStatus | undefined;
  for (let i = 0; i < 300; i++) {
    try {
      last = await handle.query(syncStatusQuery);
      if (done(last)) return last;
    } catch {
      // The first workflow task may not have run yet: the query has no handler to answer it.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status never reached: ${what}; last: ${JSON.stringify(last)}`);
}

type HistoryEvent = {
  eventType?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  timerStartedEventAttributes?: { startToFireTimeout?: { seconds?: unknown; nanos?: number | null } | null } | null;
};

/** The activities a run scheduled and the timers it started, in history order. */
export async function historyOf(handle: WorkflowHandle): Promise<{ kind: 'activity' | 'timer'; name: string; ms?: number }[]> {
  const history = await handle.fetchHistory();
  const out: { kind: 'activity' | 'timer'; name: string; ms?: number }[] = [];
  for (const e of history.events as HistoryEvent[]) {
    const a = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (a) out.push({ kind: 'activity', name: a });
    const t = e.timerStartedEventAttributes?.startToFireTimeout;
    if (t) out.push({ kind: 'timer', name: 'timer', ms: Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) });
  }
  return out;
}
