import type { PreloadKind } from '../workflows/bootstrap-types.js';
import { PER_CALL, type LoadOutcome, type SalesObjectLoader } from './sales-object-loader.js';

export type { PreloadKind };

export interface ReferencePreloader {
  /**
   * Resolves once every key of `kind` is attempted in this run (Get by external key, written into
   * the CRM, recorded as attempted, found or not), asking Marketo only for keys nobody asked for
   * yet. Resolves with the counts of the calls this batch is credited with (each call is credited
   * to exactly one of the batches it served); rejects with a `PreloadError` (carrying those
   * counts) when a call its keys were in failed.
   */
  preload(runId: string, kind: PreloadKind, keys: Iterable<string>): Promise<LoadOutcome>;
  /**
   * Runs a batch's person write. While a batch of the run is writing, the batch after it is
   * coming: a partial Get waits for its keys instead of going out alone.
   */
  writing<T>(runId: string, write: () => Promise<T>): Promise<T>;
}

/** Some of a batch's keys could not be loaded (they are left to the link steps); `loaded` is what the batch is still credited with. */
export class PreloadError extends Error {
  constructor(
    readonly loaded: LoadOutcome,
    readonly causes: unknown[],
  ) {
    super(`loading ${causes.length} call(s) of keys failed: ${causes.map((c) => (c instanceof Error ? c.message : String(c))).join('; ')}`);
    this.name = 'PreloadError';
  }
}

export interface PreloaderOptions {
  /**
   * Keys this process saw attempted, remembered per run and kind so later batches naming them
   * skip the state store (and so a key attempted while a batch was checking is not asked again).
   * Bounded: past this many the memory is dropped and the state store answers again.
   */
  rememberKeys?: number;
}

/** One Get (≤ 300 keys) and what it did; credited to the first batch it serves that takes it. */
interface Call {
  done: Promise<LoadOutcome>;
  credited: boolean;
}

/** A key's place in line: queued until its call goes out, then the call. */
interface Slot {
  call: Promise<Call>;
  assign: (call: Call) => void;
}

/** The keys of one run and kind waiting for a call, and who may still bring more. */
interface Line {
  runId: string;
  kind: PreloadKind;
  queued: string[];
  slots: Map<string, Slot>;
  /** Batches that named keys of this kind and are still finding out which are new. */
  arriving: number;
  /** Calls out. */
  calls: number;
  /** Keys this process saw attempted (see `rememberKeys`). */
  known: Set<string>;
}

const EMPTY: LoadOutcome = { records: 0, written: 0, failed: 0, apiCalls: 0 };

function add(a: LoadOutcome, b: LoadOutcome): LoadOutcome {
  return { records: a.records + b.records, written: a.written + b.written, failed: a.failed + b.failed, apiCalls: a.apiCalls + b.apiCalls };
}

/**
 * Why: a person written before its company and salesperson are in the CRM is written again later
 * by a link step (a whole-row update with its trigger and index work, and one more change in the
 * CRM's change feed). Loading what a batch names just before the batch is written costs the same
 * Marketo calls the companies and salespersons phases would make (each key is asked for once per
 * run, here or there), so the persons go in linked the first time.
 *
 * Why the keys wait in line: past its first batches a load names only a few dozen new keys per
 * batch, and a Get per batch then carries far fewer than Marketo's 300 (at 1M leads companies took
 * 129-133 calls instead of 67). Keys of every batch of the process go into one line per run and
 * kind; a full call goes out at once, the rest only when no call of the line is out, no batch is
 * still sorting its keys and no batch of the run is writing persons (a batch written frees a slot
 * for the next, which brings its keys). No timer: when nothing else is coming the rest goes out.
 */
export function referencePreloader(loader: Pick<SalesObjectLoader, 'staging' | 'loadByKeys'>, options: PreloaderOptions = {}): ReferencePreloader {
  const rememberKeys = options.rememberKeys ?? 50_000;
  const lines = new Map<string, Line>();
  const writers = new Map<string, number>();
  let remembered = 0;

  const lineOf = (runId: string, kind: PreloadKind): Line => {
    const id = `${runId}\u0000${kind}`;
    let line = lines.get(id);
    if (!line) lines.set(id, (line = { runId, kind, queued: [], slots: new Map(), arriving: 0, calls: 0, known: new Set() }));
    return line;
  };

  function remember(line: Line, keys: Iterable<string>): void {
    for (const key of keys) {
      if (line.known.has(key)) continue;
      if (remembered >= rememberKeys) {
        for (const l of lines.values()) l.known.clear();
        remembered = 0;
      }
      line.known.add(key);
      remembered += 1;
    }
  }

  /** Keys of the line attempted according to the state store. */
  async function attempted(line: Line, keys: string[]): Promise<Set<string>> {
    const { rows } = await loader.staging.pool.query<{ key: string }>(
      `SELECT key FROM ${loader.staging.loaded} WHERE run_id = $1 AND kind = $2 AND key = ANY($3::text[])`,
      [line.runId, line.kind, keys],
    );
    return new Set(rows.map((r) => r.key));
  }

  function dispatch(line: Line, count: number): void {
    const keys = line.queued.splice(0, count);
    line.calls += 1;
    const done = loader.loadByKeys(line.runId, line.kind, keys);
    const call: Call = { done, credited: false };
    for (const key of keys) line.slots.get(key)!.assign(call);
    const settled = (ok: boolean) => {
      line.calls -= 1;
      // Failed keys leave the line: a later batch naming them asks again (they were not recorded as attempted).
      for (const key of keys) line.slots.delete(key);
      if (ok) remember(line, keys);
      pump(line);
    };
    done.then(
      () => settled(true),
      () => settled(false),
    );
  }

  function pump(line: Line): void {
    while (line.queued.length >= PER_CALL) dispatch(line, PER_CALL);
    if (line.queued.length > 0 && line.arriving === 0 && line.calls === 0 && (writers.get(line.runId) ?? 0) === 0) dispatch(line, line.queued.length);
  }

  function enqueue(line: Line, key: string): Slot {
    let assign!: (call: Call) => void;
    const call = new Promise<Call>((resolve) => (assign = resolve));
    const slot = { call, assign };
    line.slots.set(key, slot);
    line.queued.push(key);
    return slot;
  }

  return {
    async preload(runId, kind, keys) {
      const line = lineOf(runId, kind);
      line.arriving += 1;
      const waits = new Set<Promise<Call>>();
      try {
        const candidates: string[] = [];
        for (const key of new Set(keys)) {
          if (line.known.has(key)) continue;
          const slot = line.slots.get(key);
          if (slot) waits.add(slot.call);
          else candidates.push(key);
        }
        if (candidates.length > 0) {
          const done = await attempted(line, candidates);
          remember(line, done);
          for (const key of candidates) {
            if (done.has(key) || line.known.has(key)) continue;
            // Another batch may have put it in line while the query ran.
            waits.add((line.slots.get(key) ?? enqueue(line, key)).call);
          }
        }
      } finally {
        line.arriving -= 1;
        pump(line);
      }
      const calls = new Set(await Promise.all(waits));
      const outcomes = await Promise.allSettled([...calls].map(async (call) => ({ call, outcome: await call.done })));
      let loaded = EMPTY;
      const causes: unknown[] = [];
      for (const o of outcomes) {
        if (o.status === 'rejected') causes.push(o.reason);
        else if (!o.value.call.credited) {
          o.value.call.credited = true;
          loaded = add(loaded, o.value.outcome);
        }
      }
      if (causes.length > 0) throw new PreloadError(loaded, causes);
      return loaded;
    },

    async writing(runId, write) {
      writers.set(runId, (writers.get(runId) ?? 0) + 1);
      try {
        return await write();
      } finally {
        const left = (writers.get(runId) ?? 1) - 1;
        if (left > 0) writers.set(runId, left);
        else writers.delete(runId);
        for (const line of [...lines.values()]) if (line.runId === runId) pump(line);
      }
    },
  };
}
