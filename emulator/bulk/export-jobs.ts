import { randomUUID } from 'node:crypto';
import { MarketoError } from '../http/envelope.js';

/**
 * The bulk export job machine, Created → Queued → Processing → Completed | Failed, and Cancelled
 * from any non-final state, with Marketo's limits: 2 jobs processing and 10 queued (processing
 * included) across all four export kinds, a daily byte quota, owner-only visibility, files kept
 * 7 days and job records 30 days. It knows nothing of HTTP or of how a file is made: the clock
 * and the processor are injected, so tests drive it by hand.
 */

export type ExportStatus = 'Created' | 'Queued' | 'Processing' | 'Completed' | 'Failed' | 'Cancelled';
export type ExportKind = 'leads' | 'activities' | 'programMembers' | 'customObjects';
export type FileFormat = 'CSV' | 'TSV' | 'SSV';

export interface ProducedFile {
  path: string;
  numberOfRecords: number;
  fileSize: number;
  /** Hex sha256 of the whole file. */
  sha256: string;
}

export interface ExportJob<Spec> {
  exportId: string;
  kind: ExportKind;
  /** Custom object API name; jobs of other objects are not visible under it. */
  objectName: string | undefined;
  owner: string;
  format: FileFormat;
  spec: Spec;
  status: ExportStatus;
  createdAt: number;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  file?: ProducedFile;
  /** Set once the file passed retention and was deleted; the status keeps its counts. */
  fileExpired?: boolean;
  errorMsg?: string;
  abort?: AbortController;
}

/** Makes the job's file; rejects to fail the job. Must stop promptly when `signal` aborts. */
export type ExportProcessor<Spec> = (job: ExportJob<Spec>, signal: AbortSignal) => Promise<ProducedFile>;

export interface ExportLimits {
  maxProcessing: number;
  /** Queued plus processing jobs, all kinds together. */
  maxQueued: number;
  dailyQuotaBytes: number;
  fileRetentionMs: number;
  jobRetentionMs: number;
}

export const DEFAULT_EXPORT_LIMITS: ExportLimits = {
  maxProcessing: 2,
  maxQueued: 10,
  dailyQuotaBytes: 500 * 1024 * 1024,
  fileRetentionMs: 7 * 86_400_000,
  jobRetentionMs: 30 * 86_400_000,
};

export interface ExportJobsOptions<Spec> {
  /** Epoch ms. */
  now: () => number;
  processor: ExportProcessor<Spec>;
  limits?: Partial<ExportLimits>;
  /** Deletes an expired or cancelled job's file. */
  discardFile?: (path: string) => void;
  /** The daily quota's day for an instant (Marketo: the America/Chicago calendar day). */
  quotaDay?: (epochMs: number) => string;
  newId?: () => string;
  /** Called after every job change, background ones included (the state file saves soon after). */
  onChange?: () => void;
}

const chicagoDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The 1029 texts clients tell apart (marketo-api.md §4.3, §10.1). */
export const QUEUE_FULL = 'Too many jobs in queue';
export const ALREADY_QUEUED = 'Job already queued';

function quotaText(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `Export daily quota ${Number.isInteger(mb) ? mb : mb.toFixed(1)}MB exceeded.`;
}

export class ExportJobs<Spec> {
  private readonly jobs = new Map<string, ExportJob<Spec>>();
  private readonly limits: ExportLimits;
  private readonly bytesByDay = new Map<string, number>();
  private readonly quotaDay: (epochMs: number) => string;
  private readonly newId: () => string;
  /** Settles when the job leaves Processing; lets tests and shutdown wait for background work. */
  private readonly running = new Map<string, Promise<void>>();
  /** Fail the next N jobs that start processing (fault injection). */
  failNext = 0;
  private closed = false;
  /** Bumped by every job change (create, enqueue, cancel, start, finish, expiry): the state file's "save due" signal. */
  changes = 0;

  constructor(private readonly options: ExportJobsOptions<Spec>) {
    this.limits = { ...DEFAULT_EXPORT_LIMITS, ...options.limits };
    this.quotaDay = options.quotaDay ?? ((ms) => chicagoDay.format(new Date(ms)));
    this.newId = options.newId ?? randomUUID;
  }

  create(owner: string, kind: ExportKind, objectName: string | undefined, format: FileFormat, spec: Spec): ExportJob<Spec> {
    this.sweep();
    this.checkQuota();
    const job: ExportJob<Spec> = { exportId: this.newId(), kind, objectName, owner, format, spec, status: 'Created', createdAt: this.options.now() };
    this.jobs.set(job.exportId, job);
    this.changed();
    return job;
  }

  enqueue(owner: string, kind: ExportKind, objectName: string | undefined, exportId: string): ExportJob<Spec> {
    const job = this.get(owner, kind, objectName, exportId);
    if (job.status === 'Queued' || job.status === 'Processing') throw new MarketoError('1029', ALREADY_QUEUED);
    if (job.status !== 'Created') throw new MarketoError('1003', `Export job ${exportId} cannot be enqueued in status ${job.status}`);
    this.checkQuota();
    if (this.inQueue() >= this.limits.maxQueued) throw new MarketoError('1029', QUEUE_FULL);
    job.status = 'Queued';
    job.queuedAt = this.options.now();
    this.changed();
    this.schedule();
    return job;
  }

  status(owner: string, kind: ExportKind, objectName: string | undefined, exportId: string): ExportJob<Spec> {
    this.sweep();
    return this.get(owner, kind, objectName, exportId);
  }

  cancel(owner: string, kind: ExportKind, objectName: string | undefined, exportId: string): ExportJob<Spec> {
    const job = this.get(owner, kind, objectName, exportId);
    if (job.status === 'Completed' || job.status === 'Failed' || job.status === 'Cancelled') return job;
    const wasProcessing = job.status === 'Processing';
    job.status = 'Cancelled';
    this.changed();
    job.abort?.abort();
    if (wasProcessing) this.schedule();
    return job;
  }

  /** The owner's jobs of one kind from the last 7 days, newest first, optionally by status. */
  list(owner: string, kind: ExportKind, objectName: string | undefined, statuses?: ReadonlySet<string>): ExportJob<Spec>[] {
    this.sweep();
    const since = this.options.now() - this.limits.fileRetentionMs;
    return [...this.jobs.values()]
      .filter((j) => j.owner === owner && j.kind === kind && j.objectName === objectName && j.createdAt >= since)
      .filter((j) => !statuses || statuses.has(j.status.toLowerCase()))
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  /** The file of a Completed job still within retention, or undefined (the route answers 404). */
  file(owner: string, kind: ExportKind, objectName: string | undefined, exportId: string): ProducedFile | undefined {
    this.sweep();
    const job = this.jobs.get(exportId);
    if (!job || job.owner !== owner || job.kind !== kind || job.objectName !== objectName || job.status !== 'Completed' || job.fileExpired) return undefined;
    return job.file;
  }

  /** Bytes exported on the quota day of `now`. */
  bytesToday(): number {
    return this.bytesByDay.get(this.quotaDay(this.options.now())) ?? 0;
  }

  /** Resolves once no job is processing (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Stops every processing job and forgets all files. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) job.abort?.abort();
    await this.idle();
    for (const job of this.jobs.values()) if (job.file && !job.fileExpired) this.options.discardFile?.(job.file.path);
    this.jobs.clear();
  }

  private changed(): void {
    this.changes += 1;
    this.options.onChange?.();
  }

  /** Jobs and quota bytes as plain data (the state file); the caller maps each spec to something JSON-able. */
  toState<Saved>(saveSpec: (spec: Spec) => Saved): { jobs: (Omit<ExportJob<Saved>, 'abort'>)[]; bytesByDay: [day: string, bytes: number][] } {
    const jobs = [...this.jobs.values()].map(({ abort: _abort, spec, ...job }) => ({ ...job, spec: saveSpec(spec) }));
    return { jobs, bytesByDay: [...this.bytesByDay] };
  }

  /**
   * Restores saved jobs. A job that was Processing when the emulator stopped goes back to Queued
   * (its file was never finished; it is made again from the subscription as it is now).
   */
  loadState(state: { jobs: Omit<ExportJob<Spec>, 'abort'>[]; bytesByDay: [string, number][] }): void {
    this.jobs.clear();
    for (const job of state.jobs) {
      const restored: ExportJob<Spec> = { ...job };
      if (restored.status === 'Processing') {
        restored.status = 'Queued';
        delete restored.startedAt;
      }
      this.jobs.set(restored.exportId, restored);
    }
    this.bytesByDay.clear();
    for (const [day, bytes] of state.bytesByDay) this.bytesByDay.set(day, bytes);
    this.changes += 1;
    this.schedule();
  }

  private get(owner: string, kind: ExportKind, objectName: string | undefined, exportId: string): ExportJob<Spec> {
    const job = this.jobs.get(exportId);
    // Another user's job, or one of another kind, is indistinguishable from an unknown id.
    if (!job || job.owner !== owner || job.kind !== kind || job.objectName !== objectName) {
      throw new MarketoError('1003', `Export Id ${exportId} not found`);
    }
    return job;
  }

  private checkQuota(): void {
    if (this.bytesToday() >= this.limits.dailyQuotaBytes) throw new MarketoError('1029', quotaText(this.limits.dailyQuotaBytes));
  }

  private inQueue(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.status === 'Queued' || j.status === 'Processing') n++;
    return n;
  }

  private schedule(): void {
    if (this.closed) return;
    let processing = 0;
    for (const j of this.jobs.values()) if (j.status === 'Processing') processing++;
    const waiting = [...this.jobs.values()].filter((j) => j.status === 'Queued').sort((a, b) => (a.queuedAt ?? 0) - (b.queuedAt ?? 0));
    for (const job of waiting) {
      if (processing >= this.limits.maxProcessing) break;
      processing++;
      this.start(job);
    }
  }

  private start(job: ExportJob<Spec>): void {
    job.status = 'Processing';
    job.startedAt = this.options.now();
    this.changed();
    const abort = new AbortController();
    job.abort = abort;
    const injectedFailure = this.failNext > 0;
    if (injectedFailure) this.failNext -= 1;
    const work = injectedFailure ? Promise.reject(new Error('Export job failed (injected fault)')) : this.options.processor(job, abort.signal);
    const done = work.then(
      (file) => {
        if (job.status !== 'Processing') {
          this.options.discardFile?.(file.path);
          return;
        }
        job.status = 'Completed';
        job.finishedAt = this.options.now();
        job.file = file;
        const day = this.quotaDay(job.finishedAt);
        this.bytesByDay.set(day, (this.bytesByDay.get(day) ?? 0) + file.fileSize);
      },
      (error: unknown) => {
        if (job.status !== 'Processing') return;
        job.status = 'Failed';
        job.finishedAt = this.options.now();
        job.errorMsg = error instanceof Error ? error.message : String(error);
      },
    );
    const tracked = done.finally(() => {
      job.abort = undefined;
      this.running.delete(job.exportId);
      this.changed();
      this.schedule();
    });
    this.running.set(job.exportId, tracked);
  }

  /** Drops files past retention and jobs past status retention. */
  private sweep(): void {
    const now = this.options.now();
    for (const [id, job] of this.jobs) {
      const finished = job.finishedAt ?? job.createdAt;
      if (job.file && !job.fileExpired && job.finishedAt !== undefined && now - job.finishedAt > this.limits.fileRetentionMs) {
        this.options.discardFile?.(job.file.path);
        job.fileExpired = true;
        this.changes += 1;
      }
      if (now - finished > this.limits.jobRetentionMs && job.status !== 'Processing' && job.status !== 'Queued') {
        this.jobs.delete(id);
        this.changes += 1;
      }
    }
  }
}

/** The job as the API shows it: fields appear only once set (marketo-api.md §10.1). */
export function exportJobView(job: ExportJob<unknown>, iso: (epochMs: number) => string): Record<string, unknown> {
  const view: Record<string, unknown> = { exportId: job.exportId, format: job.format, status: job.status, createdAt: iso(job.createdAt) };
  if (job.queuedAt !== undefined) view.queuedAt = iso(job.queuedAt);
  if (job.startedAt !== undefined) view.startedAt = iso(job.startedAt);
  if (job.finishedAt !== undefined) view.finishedAt = iso(job.finishedAt);
  if (job.status === 'Completed' && job.file) {
    view.numberOfRecords = job.file.numberOfRecords;
    view.fileSize = job.file.fileSize;
    view.fileChecksum = `sha256:${job.file.sha256}`;
  }
  if (job.status === 'Failed' && job.errorMsg !== undefined) view.errorMsg = job.errorMsg;
  return view;
}
