export interface GroupCommitOptions {
  /** How long an idle queue waits for company before running: a webhook burst arrives over a few ms. */
  windowMs?: number;
  /** Batches running at once; items that arrive meanwhile gather into the next batch. */
  maxInFlight?: number;
  /** Largest batch (Marketo: 300 ids per read). */
  maxBatch?: number;
  /**
   * Least time between the starts of two batches. Paces calls against a rate limit evenly, so
   * items gather into fuller batches instead of the limiter letting a burst through and then
   * stalling everyone for the rest of its window.
   */
  minIntervalMs?: number;
}

interface Entry<In, Out> {
  item: In;
  resolve(out: Out): void;
  reject(err: unknown): void;
}

/**
 * Group commit: callers submit one item each and get their own result, while the work runs in
 * batches. At most `maxInFlight` batches run at once and items that arrive meanwhile wait for the
 * next one, so the busier the queue, the fuller each batch: a burst costs a few batch calls, a
 * lone item waits only `windowMs`. `run` must return one result per item, in order.
 */
export class GroupCommit<In, Out> {
  private queue: Entry<In, Out>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private readonly minIntervalMs: number;
  private lastStart = -Infinity;

  constructor(
    private readonly run: (items: In[]) => Promise<Out[]>,
    options: GroupCommitOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 10;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 300;
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  submit(item: In): Promise<Out> {
    const promise = new Promise<Out>((resolve, reject) => this.queue.push({ item, resolve, reject }));
    this.schedule();
    return promise;
  }

  private schedule(delayMs = this.windowMs): void {
    if (this.timer || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, Math.max(delayMs, this.lastStart + this.minIntervalMs - Date.now()));
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const wait = this.lastStart + this.minIntervalMs - Date.now();
      if (wait > 0) return this.schedule(wait);
      this.lastStart = Date.now();
      this.execute(this.queue.splice(0, this.maxBatch));
    }
  }

  private execute(batch: Entry<In, Out>[]): void {
    this.inFlight += 1;
    void this.run(batch.map((e) => e.item))
      .then(
        (outs) => {
          if (outs.length !== batch.length) throw new Error(`group commit: ${outs.length} results for ${batch.length} items`);
          batch.forEach((e, i) => e.resolve(outs[i]!));
        },
      )
      .catch((err: unknown) => {
        for (const e of batch) e.reject(err);
      })
      .finally(() => {
        this.inFlight -= 1;
        // Items that gathered during this batch go out at once: they have waited long enough.
        this.dispatch();
        this.schedule();
      });
  }
}
