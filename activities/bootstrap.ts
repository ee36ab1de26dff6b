import { planWindows } from '../src/marketo/bulk/windows.js';
import type { ExportWindow } from '../workflows/bootstrap-types.js';
import type { CrmConnector } from '../src/crm/connector.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import { createBulkExportActivities } from './bulk-export.js';
import { createSalesActivities } from './bootstrap-sales.js';
import { withLivenessAll } from './liveness.js';
import { createMarketingActivities } from './marketing-phases.js';
import type { IngestSinkFactory } from './ingest-sink.js';

export interface BootstrapActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  batchSize?: number;
  /** Batch writes of one download in flight at once (default 2). */
  writeConcurrency?: number;
  /** Extra ingest sinks by name (the marketing phases register theirs here, from workers/activities.ts). */
  sinks?: Record<string, IngestSinkFactory>;
}

/** The watermark stream the sync loop reads for an entity (`marketo:leads`, ...). */
export function marketoStream(entity: string): string {
  return `marketo:${entity}`;
}

export function createBootstrapActivities(deps: BootstrapActivityDeps) {
  return {
    ...createBulkExportActivities(deps),
    // The sales steps run for minutes at scale with no checkpoint of their own: they heartbeat on a
    // timer so a killed worker's step moves to another within the heartbeat timeout.
    ...withLivenessAll(createSalesActivities(deps)),
    ...createMarketingActivities(deps),

    /** Cuts [startAt, endAt] into ≤31-day createdAt windows (pure, but libraries stay out of workflows). */
    async planExportWindows(input: { startAt: string; endAt: string; maxDays?: number }): Promise<ExportWindow[]> {
      return planWindows({ startAt: input.startAt, endAt: input.endAt }, input.maxDays === undefined ? {} : { maxDays: input.maxDays });
    },

    /**
     * Hands the fixed high watermark to the sync loop: it continues each finished entity from
     * exactly where the bootstrap's snapshot ended, so nothing changed since start is missed.
     */
    async recordBootstrapWatermarks(input: { highWatermark: string; entities: string[] }): Promise<void> {
      const at = new Date(input.highWatermark);
      if (Number.isNaN(at.getTime())) throw new Error(`highWatermark '${input.highWatermark}' is not a date`);
      for (const entity of input.entities) await deps.store.watermarks.set(marketoStream(entity), { watermark: at });
    },
  };
}

export type BootstrapActivities = ReturnType<typeof createBootstrapActivities>;
