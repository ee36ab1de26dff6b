import type { BootstrapEntity, EntitySetting, ExportSource, ExportWindow, IngestSink, PhaseProgress } from './bootstrap-types.js';

/**
 * What the `bootstrap` parent hands each phase function (one per entity type, in the seed's
 * order). Phase functions run inside the workflow: they call activities and `runWindows`, never
 * I/O, and count into `progress` so the `progress` query shows them.
 */
export interface PhaseContext {
  /** Phase name as shown in progress (`companies`, `programs`, ...). */
  name: string;
  setting: EntitySetting;
  /** The phase's low watermark: its own `since`, else the bootstrap's. */
  since: string;
  /** Fixed at the bootstrap's start; the phase reads nothing created after it. */
  highWatermark: string;
  /** The bootstrap workflow id: the key of what earlier phases staged (e.g. company keys seen on leads). */
  runId: string;
  progress: PhaseProgress;
  /**
   * Runs one `bulkExport` child per window with the parent's scheduling (Marketo's 2 processing
   * jobs plus the next queued, shared by all phases), honouring pause and cancel between windows.
   * Counts land in `progress`.
   */
  runWindows(source: ExportSource, sink: IngestSink, windows: ExportWindow[]): Promise<void>;
  /** Waits while paused; false once the bootstrap is being cancelled (the phase should return). */
  checkpoint(): Promise<boolean>;
  /** Whether this bootstrap loads `entity` (a phase may do part of another's work when it does). */
  enabled(entity: BootstrapEntity): boolean;
}

export type PhaseFunction = (ctx: PhaseContext) => Promise<void>;
