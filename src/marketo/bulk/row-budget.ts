import { getHeapStatistics } from 'node:v8';

/**
 * A budget of rows held in memory between parse and committed write, shared by every download in
 * a process: a download (through its `lease`) takes a batch's worth before it fills a batch and
 * gives it back once the batch is written. Waiters are served in arrival order, so a download never starves behind
 * later ones. Memory then depends on the budget, not on how many windows happen to ingest at once.
 */
export class RowBudget {
  private used = 0;
  private readonly waiting: { rows: number; lease: RowLease; grant: () => void; refuse: (err: Error) => void }[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`row budget must be a positive integer, got ${capacity}`);
  }

  /** Rows currently taken. */
  get inUse(): number {
    return this.used;
  }

  /** One download's share: what it holds goes back in one call when the download ends, however it ends. */
  lease(): RowLease {
    return new RowLease(this);
  }

  /** @internal */
  take(lease: RowLease, rows: number): Promise<number> {
    const n = Math.min(rows, this.capacity);
    if (this.waiting.length === 0 && this.used + n <= this.capacity) {
      this.used += n;
      lease.held += n;
      return Promise.resolve(n);
    }
    return new Promise((resolve, reject) =>
      this.waiting.push({
        rows: n,
        lease,
        grant: () => {
          lease.held += n;
          resolve(n);
        },
        refuse: reject,
      }),
    );
  }

  /** @internal */
  give(rows: number): void {
    this.used -= rows;
    if (this.used < 0) throw new Error(`row budget given back more than was taken (${this.used})`);
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.rows <= this.capacity) {
      const next = this.waiting.shift()!;
      this.used += next.rows;
      next.grant();
    }
  }

  /** @internal */
  cancel(lease: RowLease): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      if (w.lease !== lease) continue;
      this.waiting.splice(i, 1);
      w.refuse(new Error('row budget lease closed while waiting'));
    }
  }
}

export class RowLease {
  /** Rows this lease holds now. */
  held = 0;
  private closed = false;

  constructor(private readonly budget: RowBudget) {}

  /**
   * Takes `rows` (at most the whole budget: a batch larger than the budget runs alone). Resolves
   * with what was taken at once when there is room and nobody waits before it, else when enough
   * is given back.
   */
  take(rows: number): Promise<number> {
    if (this.closed) return Promise.reject(new Error('row budget lease is closed'));
    return this.budget.take(this, rows);
  }

  /** Gives back what `take` returned (nothing once the lease is closed: close gave it all back). */
  give(rows: number): void {
    if (this.closed) return;
    this.held -= rows;
    this.budget.give(rows);
  }

  /** Gives back everything held and refuses this lease's waits. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.cancel(this);
    const held = this.held;
    this.held = 0;
    if (held > 0) this.budget.give(held);
  }
}

/** Heap bytes a row costs while in flight (parsed row, mapped record, the write's COPY text, garbage not yet collected). */
export const BYTES_PER_ROW_IN_FLIGHT = 4096;

/**
 * Rows in flight for this process: a quarter of V8's heap limit (`--max-old-space-size`) at
 * `BYTES_PER_ROW_IN_FLIGHT` each, leaving the rest for the worker itself and the collector's slack.
 * A held row takes 1.4-1.9 KB of heap (docs/bulk.md), so the estimate is generous. Session 4 chose
 * an eighth when a quarter peaked at 350 MB RSS; with the cheaper parser, person writes and a 4 MB
 * young generation (docker-compose's NODE_OPTIONS), the 1M bench peaked at 284 MB with a quarter
 * (270 MB with an eighth) and ingested faster: 223.7 s against 286.1 s (docs/bootstrap.md).
 */
export function defaultRowBudget(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.max(1000, Math.floor(heapLimitBytes / 4 / BYTES_PER_ROW_IN_FLIGHT));
}
