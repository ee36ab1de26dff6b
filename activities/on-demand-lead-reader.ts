import type { Lead, MarketoClient } from '../src/marketo/index.js';

/** Marketo's largest `filterValues` list, and so the most leads one read can fetch. */
const MAX_IDS_PER_CALL = 300;

interface Waiter {
  resolve(lead: Lead | undefined): void;
  reject(err: unknown): void;
}

interface Batch {
  fields: string[];
  waiters: Map<number, Waiter[]>;
  timer: NodeJS.Timeout;
}

/**
 * Reads leads by id, coalescing the reads that arrive within a short window into one
 * `GET /rest/v1/leads.json?filterType=id` call of up to 300 ids. A burst of webhooks (Marketo
 * sends up to 20 at once per instance) then costs a handful of calls instead of one per lead,
 * which is what keeps a burst inside 100 calls per 20 s. Lives in the worker process only.
 */
export class LeadReader {
  private readonly open = new Map<string, Batch>();

  constructor(
    private readonly marketo: Pick<MarketoClient, 'leads'>,
    private readonly windowMs = 15,
  ) {}

  /** The lead, or undefined when Marketo has no lead with that id (deleted, merged away, never existed). */
  read(id: number, fields: readonly string[]): Promise<Lead | undefined> {
    const key = fields.join(',');
    let batch = this.open.get(key);
    if (!batch) {
      const fresh: Batch = { fields: [...fields], waiters: new Map(), timer: setTimeout(() => this.flush(key, fresh), this.windowMs) };
      this.open.set(key, fresh);
      batch = fresh;
    }
    const target = batch;
    const promise = new Promise<Lead | undefined>((resolve, reject) => {
      const list = target.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      target.waiters.set(id, list);
    });
    if (target.waiters.size >= MAX_IDS_PER_CALL) {
      clearTimeout(target.timer);
      this.flush(key, target);
    }
    return promise;
  }

  private flush(key: string, batch: Batch): void {
    if (this.open.get(key) === batch) this.open.delete(key);
    const ids = [...batch.waiters.keys()];
    void this.marketo.leads
      .getByFilter({ filterType: 'id', filterValues: ids, fields: batch.fields, batchSize: MAX_IDS_PER_CALL })
      .then(
        (page) => {
          const found = new Map(page.items.map((lead) => [lead.id, lead]));
          for (const [id, waiters] of batch.waiters) for (const w of waiters) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const waiters of batch.waiters.values()) for (const w of waiters) w.reject(err);
        },
      );
  }
}
