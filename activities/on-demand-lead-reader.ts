import type { Lead, MarketoClient } from '../src/marketo/index.js';

/** Marketo's largest `filterValues` list, and so the most leads one read can fetch. */
const MAX_IDS_PER_CALL = 300;

interface Waiter {
  resolve(lead: Lead | undefined): void;
  reject(err: unknown): void;
}

/** Reads waiting for the next call, per requested field list. */
type Pending = Map<string, Map<number, Waiter[]>>;

export interface LeadReaderOptions {
  /** How long an idle reader waits for company before calling: a webhook burst arrives over a few ms. */
  windowMs?: number;
  /** Reads in flight at once; while they run, new ids gather into the next call. */
  maxInFlight?: number;
}

/**
 * Reads leads by id, coalescing reads into `GET /rest/v1/leads.json?filterType=id` calls of up to
 * 300 ids. At most `maxInFlight` calls run at once and ids that arrive meanwhile wait for the next
 * one, so the busier the reader, the fuller each call (group commit): a burst of webhooks costs a
 * handful of calls instead of one per lead, which keeps it inside 100 calls per 20 s instead of
 * queueing in the rate limiter. Lives in the worker process only.
 */
export class LeadReader {
  private pending: Pending = new Map();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly marketo: Pick<MarketoClient, 'leads'>,
    options: LeadReaderOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 10;
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  /** The lead, or undefined when Marketo has no lead with that id (deleted, merged away, never existed). */
  read(id: number, fields: readonly string[]): Promise<Lead | undefined> {
    const key = fields.join(',');
    const promise = new Promise<Lead | undefined>((resolve, reject) => {
      let byId = this.pending.get(key);
      if (!byId) this.pending.set(key, (byId = new Map()));
      const list = byId.get(id) ?? [];
      list.push({ resolve, reject });
      byId.set(id, list);
    });
    this.schedule();
    return promise;
  }

  private schedule(): void {
    if (this.timer || this.inFlight >= this.maxInFlight || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, this.windowMs);
  }

  /** Starts calls for pending ids while slots are free; each call takes up to 300 ids of one field list. */
  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.pending.size > 0) {
      const [key, byId] = this.pending.entries().next().value as [string, Map<number, Waiter[]>];
      const ids = [...byId.keys()].slice(0, MAX_IDS_PER_CALL);
      const batch = new Map(ids.map((id) => [id, byId.get(id)!]));
      for (const id of ids) byId.delete(id);
      if (byId.size === 0) this.pending.delete(key);
      this.call(key.split(','), batch);
    }
  }

  private call(fields: string[], batch: Map<number, Waiter[]>): void {
    this.inFlight += 1;
    void this.marketo.leads
      .getByFilter({ filterType: 'id', filterValues: [...batch.keys()], fields, batchSize: MAX_IDS_PER_CALL })
      .then(
        (page) => {
          const found = new Map(page.items.map((lead) => [lead.id, lead]));
          for (const [id, waiters] of batch) for (const w of waiters) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.inFlight -= 1;
        // Ids that gathered during this call go out at once: they have waited long enough.
        this.dispatch();
        this.schedule();
      });
  }
}
