import { existsSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { BulkService, BulkState } from './bulk/service.js';
import type { Limiter } from './limits.js';
import type { CallStats } from './stats.js';
import { FieldDef } from './model/fields.js';
import { Relationship } from './model/object-types.js';
import type { Subscription, SubscriptionState } from './subscription.js';

/**
 * The emulator's subscription on disk, so a restarted emulator is the same Marketo: schema,
 * leads, activities, objects, lists, programs, counters, bulk jobs and the day's quota and call
 * statistics. A real
 * Marketo never forgets a change it acknowledged, so a call that changed something is answered
 * only once the change is durable (temp file, fsync, rename, fsync of the folder); calls arriving
 * while a save runs share the next one. Calls that change nothing cost no save (the quota
 * counter and call statistics they move are saved with the next change, so a crash may forget
 * a few units of them).
 * Bulk files (exports, uploads, failure reports) live in the folder `<state file>.bulk`.
 */

const Value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Int = z.number().int();
const Seconds = z.number().int().min(0);
const Attribute = z.object({ name: z.string(), value: z.unknown(), apiName: z.string().optional() });
const ActivityTypeAttribute = z.object({ name: z.string(), dataType: z.string(), apiName: z.string().optional() });
/** Lead field names may be hostile (admin endpoint), so only non-empty is required here. */
const LeadField = FieldDef.extend({ name: z.string().min(1) });

const LeadStoreState = z.object({
  size: Int.min(0),
  dead: z.array(Int.min(1)),
  createdAt: z.array(Seconds),
  updatedAt: z.array(Seconds),
  partitionId: z.array(Int.min(1)),
  columns: z.record(z.string(), z.array(Value)),
});

const ActivityLogState = z.object({
  leadId: z.array(Int),
  date: z.array(Seconds),
  typeId: z.array(Int),
  campaignId: z.array(Int),
  primaryAttributeValueId: z.array(z.number().nullable()),
  primaryAttributeValue: z.array(z.string().nullable()),
  attributes: z.array(z.array(Attribute).nullable()),
});

const ObjectTypeState = z.object({
  kind: z.enum(['company', 'opportunity', 'opportunityRole', 'salesperson', 'custom']),
  name: z.string().min(1),
  displayName: z.string(),
  pluralName: z.string().optional(),
  description: z.string(),
  idField: z.enum(['id', 'marketoGUID']),
  dedupeFields: z.array(z.string()),
  searchableFields: z.array(z.array(z.string())),
  fields: z.array(FieldDef),
  relationships: z.array(Relationship),
  createdAt: Seconds,
  updatedAt: Seconds,
  addActivityTypeId: Int.optional(),
});

const ObjectRecordState = z.object({
  num: Int.min(1),
  marketoGUID: z.string().optional(),
  createdAt: Seconds,
  updatedAt: Seconds,
  values: z.record(z.string(), Value),
});

const Membership = z.object({
  id: Int, progressionStatus: z.string(), progressionStatusType: z.string(), acquiredBy: z.boolean(),
  reachedSuccess: z.boolean(), isExhausted: z.boolean(), membershipDate: Seconds, updatedAt: Seconds,
});

const SubscriptionStateSchema = z.object({
  leadFields: z.array(LeadField).min(1),
  partitions: z.array(z.object({ id: Int, name: z.string(), description: z.string() })).min(1),
  objectTypes: z.array(ObjectTypeState),
  objects: z.record(z.string(), z.array(ObjectRecordState)),
  customActivityTypes: z.array(z.object({
    id: Int, name: z.string(), description: z.string(), apiName: z.string().optional(), createdAt: Seconds.optional(), external: z.boolean().optional(),
    primaryAttribute: ActivityTypeAttribute.optional(), attributes: z.array(ActivityTypeAttribute),
  })),
  lists: z.array(z.object({
    id: Int, name: z.string().min(1), description: z.string(), programName: z.string().optional(), workspaceName: z.string(), folderId: Int,
    createdAt: Seconds, updatedAt: Seconds, members: z.array(z.tuple([Int, Seconds])),
  })),
  programs: z.array(z.object({
    id: Int, name: z.string().min(1), description: z.string(), type: z.enum(['Default', 'Event', 'Engagement', 'Email', 'Event with Webinar']),
    channel: z.string(), status: z.string(), folderId: Int, folderName: z.string(), workspace: z.string(), createdAt: Seconds, updatedAt: Seconds,
    statuses: z.array(z.string()), members: z.array(z.tuple([Int, Membership])),
  })),
  counters: z.object({ nextObjectNum: Int.min(1), nextListId: Int, nextProgramId: Int, nextMembershipId: Int, nextCustomActivityTypeId: Int }),
  leads: LeadStoreState,
  activities: ActivityLogState,
});

const ProducedFile = z.object({ path: z.string(), numberOfRecords: Int.min(0), fileSize: Int.min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const Ms = z.number().int().min(0);

const BulkStateSchema = z.object({
  fileSeq: Int.min(0),
  exports: z.object({
    jobs: z.array(z.object({
      exportId: z.string().min(1),
      kind: z.enum(['leads', 'activities', 'programMembers', 'customObjects']),
      objectName: z.string().optional(),
      owner: z.string(),
      format: z.enum(['CSV', 'TSV', 'SSV']),
      spec: z.object({ format: z.enum(['CSV', 'TSV', 'SSV']), request: z.object({ body: z.unknown(), apiName: z.string().optional() }) }),
      status: z.enum(['Created', 'Queued', 'Processing', 'Completed', 'Failed', 'Cancelled']),
      createdAt: Ms, queuedAt: Ms.optional(), startedAt: Ms.optional(), finishedAt: Ms.optional(),
      file: ProducedFile.optional(),
      fileExpired: z.boolean().optional(),
      errorMsg: z.string().optional(),
    })),
    bytesByDay: z.array(z.tuple([z.string(), z.number().min(0)])),
  }),
  imports: z.object({
    nextId: Int,
    batches: z.array(z.object({
      batchId: Int,
      queue: z.enum(['leads', 'customObjects', 'programMembers']),
      objectName: z.string().optional(),
      owner: z.string(),
      spec: z.object({
        filePath: z.string(),
        format: z.enum(['csv', 'tsv', 'ssv']),
        target: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('leads'), lookupField: z.string(), listId: Int.optional(), partitionName: z.string().optional() }),
          z.object({ kind: z.literal('customObjects'), apiName: z.string() }),
          z.object({ kind: z.literal('programMembers'), programId: Int, status: z.string() }),
        ]),
      }),
      status: z.enum(['Queued', 'Importing', 'Complete', 'Failed']),
      queuedAt: Ms, startedAt: Ms.optional(), finishedAt: Ms.optional(),
      outcome: z.object({ processed: Int.min(0), failed: Int.min(0), warnings: Int.min(0), failuresPath: z.string().optional(), warningsPath: z.string().optional() }).optional(),
      message: z.string().optional(),
    })),
  }),
});

export const StateFileSchema = z.object({
  format: z.literal('marketo-emulator-state'),
  version: z.literal(1),
  savedAt: z.string(),
  quota: z.object({ day: z.string(), used: Int.min(0) }),
  /** Per-day call totals by user and error code (`/rest/v1/stats/*`). */
  usage: z.array(z.tuple([z.string(), z.object({ total: Int.min(0), users: z.array(z.tuple([z.string(), Int.min(0)])), errors: z.array(z.tuple([z.string(), Int.min(0)])) })])),
  subscription: SubscriptionStateSchema,
  bulk: BulkStateSchema,
});
export type StateFileContent = z.output<typeof StateFileSchema>;

/** A state file that exists but cannot be used; the emulator refuses to start and leaves the file alone. */
export class StateFileError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`emulator state file ${path} is damaged: ${detail} (it was left untouched; move it away to start from a new seed)`);
    this.name = 'StateFileError';
  }
}

/** The folder holding the bulk files that belong to a state file. */
export function bulkDirOf(statePath: string): string {
  return `${statePath}.bulk`;
}

/** Reads and validates a state file; undefined when there is none. Throws StateFileError naming what is wrong. */
export async function readStateFile(path: string): Promise<StateFileContent | undefined> {
  if (!existsSync(path)) return undefined;
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = StateFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StateFileError(path, issues.join('; '));
  }
  // Bulk files are found in the kept folder wherever the state folder was moved to.
  const dir = bulkDirOf(path);
  const rebase = (p: string): string => join(dir, basename(p));
  for (const job of parsed.data.bulk.exports.jobs) {
    if (!job.file) continue;
    job.file.path = rebase(job.file.path);
    if (job.status === 'Completed' && !job.fileExpired && !existsSync(job.file.path)) {
      throw new StateFileError(path, `export ${job.exportId} is Completed but its file ${job.file.path} is missing`);
    }
  }
  for (const batch of parsed.data.bulk.imports.batches) {
    batch.spec.filePath = rebase(batch.spec.filePath);
    if (batch.outcome?.failuresPath) batch.outcome.failuresPath = rebase(batch.outcome.failuresPath);
    if (batch.outcome?.warningsPath) batch.outcome.warningsPath = rebase(batch.outcome.warningsPath);
  }
  return parsed.data;
}

/** What the state file holds, in the running emulator. */
export interface StateParts {
  subscription: Subscription;
  limiter: Limiter;
  stats: CallStats;
  bulk: BulkService;
}

/** Puts a validated state into a fresh subscription, limiter and bulk service. */
export function applyState(state: StateFileContent, parts: StateParts, path: string): void {
  try {
    parts.subscription.loadState(state.subscription as SubscriptionState);
    parts.limiter.loadQuotaState(state.quota);
    parts.stats.loadDaysState(state.usage);
    parts.bulk.loadState(state.bulk as BulkState);
  } catch (err) {
    if (err instanceof StateFileError) throw err;
    throw new StateFileError(path, (err as Error).message);
  }
}

/** Writes `text` so that after a crash the file holds either the old or the new content, whole. */
let tmpSeq = 0;

export async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpSeq}`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export interface SaveStats {
  saves: number;
  /** Total ms spent serialising (blocks the event loop) and writing (does not). */
  serializeMs: number;
  writeMs: number;
  lastBytes: number;
}

/**
 * Saves the emulator's state when it changed: `commit()` resolves once every change made before
 * the call is on disk. One save runs at a time; commits that arrive meanwhile share the next.
 */
export class StatePersistence {
  private durable: number;
  private running: { stamp: number; done: Promise<void> } | undefined;
  private next: Promise<void> | undefined;
  private closed = false;
  /** Set by close: background saves stop, the final save is close's own. */
  private closing = false;
  readonly stats: SaveStats = { saves: 0, serializeMs: 0, writeMs: 0, lastBytes: 0 };

  constructor(
    readonly path: string,
    private readonly parts: StateParts,
    /** True when the file on disk already holds the current state (just loaded). */
    upToDate: boolean,
  ) {
    this.durable = upToDate ? this.stamp() : -1;
    parts.bulk.onChange = () => this.saveSoon();
  }

  private stamp(): number {
    return this.parts.subscription.changeStamp() + this.parts.bulk.changeStamp();
  }

  /** Resolves when every change made so far is durable; free when nothing changed. */
  commit(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const want = this.stamp();
    if (want === this.durable) return Promise.resolve();
    const running = this.running;
    if (!running) return this.start();
    if (want === running.stamp) return running.done;
    this.next ??= running.done.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  /** A background change (an export finished, an import applied): saved on a later turn, no caller waits. */
  private saveSoon(): void {
    if (this.closing) return;
    setImmediate(() => {
      if (this.closing) return;
      this.commit().catch((err: unknown) => console.error(`emulator: saving ${this.path} failed`, err));
    });
  }

  private start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const stamp = this.stamp();
    if (stamp === this.durable) return Promise.resolve();
    const t0 = performance.now();
    const text = JSON.stringify(this.snapshot());
    const t1 = performance.now();
    this.stats.serializeMs += t1 - t0;
    this.stats.lastBytes = Buffer.byteLength(text);
    const done = writeDurably(this.path, text).then(() => {
      this.stats.writeMs += performance.now() - t1;
      this.stats.saves += 1;
      if (stamp > this.durable) this.durable = stamp;
    }).finally(() => {
      if (this.running?.done === done) this.running = undefined;
    });
    this.running = { stamp, done };
    return done;
  }

  private snapshot(): StateFileContent {
    return {
      format: 'marketo-emulator-state', version: 1, savedAt: new Date().toISOString(),
      quota: this.parts.limiter.quotaState(),
      usage: this.parts.stats.daysState(),
      subscription: this.parts.subscription.toState() as StateFileContent['subscription'],
      bulk: this.parts.bulk.toState() as StateFileContent['bulk'],
    };
  }

  /** Saves once more if anything changed (quota included), then stops saving: the emulator is closing. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.running || this.next) await Promise.allSettled([this.running?.done, this.next]);
    // The quota counter and call statistics move without a change stamp: one last save keeps them.
    this.durable = -1;
    await this.start();
    this.closed = true;
  }
}
