import { MarketoError } from '../http/envelope.js';

/**
 * The bulk import batch machine, Queued → Importing → Complete | Failed, with Marketo's limits
 * per import queue (leads, custom objects and program members each have one): 2 importing and
 * 10 queued (importing included), answering 1016 "Too many imports" beyond that. Batch ids are
 * integers shared by all queues. Clock and importer are injected, as for exports.
 */

export type ImportStatus = 'Queued' | 'Importing' | 'Complete' | 'Failed';
export type ImportQueue = 'leads' | 'customObjects' | 'programMembers';

export interface ImportOutcome {
  /** Rows imported. */
  processed: number;
  failed: number;
  warnings: number;
  /** Files in the import format plus a reason column; absent when there were none. */
  failuresPath?: string;
  warningsPath?: string;
}

export interface ImportBatch<Spec> {
  batchId: number;
  queue: ImportQueue;
  objectName: string | undefined;
  owner: string;
  spec: Spec;
  status: ImportStatus;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  outcome?: ImportOutcome;
  message?: string;
  abort?: AbortController;
}

/** Applies a batch; must stop promptly when `signal` aborts (emulator shutdown). */
export type ImportProcessor<Spec> = (batch: ImportBatch<Spec>, signal: AbortSignal) => Promise<ImportOutcome>;

export interface ImportLimits {
  maxImporting: number;
  maxQueued: number;
  /** Batch ids (and their failure files) are valid 7 days. */
  retentionMs: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxImporting: 2, maxQueued: 10, retentionMs: 7 * 86_400_000 };

export const TOO_MANY_IMPORTS = 'Too many imports';

export function importMessage(o: ImportOutcome): string {
  const imported = `${o.processed} records imported (${o.processed} members)`;
  const warned = o.warnings > 0 ? `, ${o.warnings} warning${o.warnings === 1 ? '' : 's'}.` : '';
  return o.failed > 0 ? `Import completed with errors, ${imported}, ${o.failed} failed${warned}` : `Import succeeded, ${imported}${warned}`;
}

export class ImportJobs<Spec> {
  private readonly batches = new Map<number, ImportBatch<Spec>>();
  private readonly limits: ImportLimits;
  private readonly running = new Map<number, Promise<void>>();
  private nextId = 1001;
  private closed = false;
  /** Fail the next N batches that start importing (fault injection). */
  failNext = 0;
  /** Bumped by every batch change: the state file's "save due" signal. */
  changes = 0;

  constructor(
    private readonly options: {
      now: () => number;
      processor: ImportProcessor<Spec>;
      limits?: Partial<ImportLimits>;
      discardFile?: (path: string) => void;
      /** Called after every batch change, background ones included (the state file saves soon after). */
      onChange?: () => void;
    },
  ) {
    this.limits = { ...DEFAULT_IMPORT_LIMITS, ...options.limits };
  }

  submit(owner: string, queue: ImportQueue, objectName: string | undefined, spec: Spec): ImportBatch<Spec> {
    this.sweep();
    let waiting = 0;
    for (const b of this.batches.values()) if (b.queue === queue && (b.status === 'Queued' || b.status === 'Importing')) waiting++;
    if (waiting >= this.limits.maxQueued) throw new MarketoError('1016', TOO_MANY_IMPORTS);
    const batch: ImportBatch<Spec> = { batchId: this.nextId++, queue, objectName, owner, spec, status: 'Queued', queuedAt: this.options.now() };
    this.batches.set(batch.batchId, batch);
    this.changed();
    // Started on the next turn, so the create response shows the batch Queued, as Marketo does.
    setImmediate(() => this.schedule());
    return batch;
  }

  status(owner: string, queue: ImportQueue, objectName: string | undefined, batchId: number): ImportBatch<Spec> {
    this.sweep();
    const batch = this.batches.get(batchId);
    if (!batch || batch.owner !== owner || batch.queue !== queue || batch.objectName !== objectName) {
      throw new MarketoError('1003', `Batch id ${batchId} not found`);
    }
    return batch;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const b of this.batches.values()) b.abort?.abort();
    await this.idle();
    for (const b of this.batches.values()) this.discard(b);
    this.batches.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    for (const queue of ['leads', 'customObjects', 'programMembers'] as const) {
      const inQueue = [...this.batches.values()].filter((b) => b.queue === queue);
      let importing = inQueue.filter((b) => b.status === 'Importing').length;
      for (const batch of inQueue.filter((b) => b.status === 'Queued')) {
        if (importing >= this.limits.maxImporting) break;
        importing++;
        this.start(batch);
      }
    }
  }

  private start(batch: ImportBatch<Spec>): void {
    batch.status = 'Importing';
    batch.startedAt = this.options.now();
    this.changed();
    const injected = this.failNext > 0;
    if (injected) this.failNext -= 1;
    batch.abort = new AbortController();
    const work = injected ? Promise.reject(new Error('Import failed: internal error (injected fault)')) : this.options.processor(batch, batch.abort.signal);
    const done = work.then(
      (outcome) => {
        batch.status = 'Complete';
        batch.outcome = outcome;
        batch.message = importMessage(outcome);
      },
      (error: unknown) => {
        batch.status = 'Failed';
        batch.message = error instanceof Error ? error.message : String(error);
      },
    );
    this.running.set(
      batch.batchId,
      done.finally(() => {
        batch.abort = undefined;
        batch.finishedAt = this.options.now();
        this.running.delete(batch.batchId);
        this.changed();
        this.schedule();
      }),
    );
  }

  private changed(): void {
    this.changes += 1;
    this.options.onChange?.();
  }

  /** Batches and the id counter as plain data (the state file). */
  toState(): { nextId: number; batches: Omit<ImportBatch<Spec>, 'abort'>[] } {
    return { nextId: this.nextId, batches: [...this.batches.values()].map(({ abort: _abort, ...b }) => b) };
  }

  /**
   * Restores saved batches. Queued ones import after the restart (their upload is kept); one that
   * was Importing when the emulator stopped fails, because part of its rows may already be applied
   * and a second pass would apply them twice.
   */
  loadState(state: { nextId: number; batches: Omit<ImportBatch<Spec>, 'abort'>[] }): void {
    this.batches.clear();
    this.nextId = state.nextId;
    const now = this.options.now();
    for (const b of state.batches) {
      const restored: ImportBatch<Spec> = { ...b };
      if (restored.status === 'Importing') {
        restored.status = 'Failed';
        restored.finishedAt = now;
        restored.message = 'Import failed: the emulator stopped while this batch was importing';
      }
      this.batches.set(restored.batchId, restored);
    }
    this.changes += 1;
    setImmediate(() => this.schedule());
  }

  private discard(batch: ImportBatch<Spec>): void {
    if (batch.outcome?.failuresPath) this.options.discardFile?.(batch.outcome.failuresPath);
    if (batch.outcome?.warningsPath) this.options.discardFile?.(batch.outcome.warningsPath);
  }

  private sweep(): void {
    const now = this.options.now();
    for (const [id, b] of this.batches) {
      if (b.finishedAt !== undefined && now - b.finishedAt > this.limits.retentionMs) {
        this.discard(b);
        this.batches.delete(id);
        this.changes += 1;
      }
    }
  }
}
