import type { Lead, MarketoClient } from '../src/marketo/index.js';
import { GroupCommit, type GroupCommitOptions } from './on-demand-group-commit.js';

/** Marketo's largest `filterValues` list, and so the most leads one read can fetch. */
const MAX_IDS_PER_CALL = 300;
/**
 * Reads start at most every 400 ms: half of Marketo's 100 calls per 20 s, the rest left to the
 * sync loop. Evenly paced reads gather the webhooks of a burst into fuller calls; unpaced, a burst
 * spent the window in short reads and the rate limiter then held every webhook for seconds.
 */
const READ_INTERVAL_MS = 400;

/**
 * Reads leads by id in `GET /rest/v1/leads.json?filterType=id` calls of up to 300 ids, grouped
 * (see GroupCommit): a burst of webhooks costs a handful of calls instead of one per lead, which
 * keeps it inside 100 calls per 20 s instead of queueing in the rate limiter.
 */
export class LeadReader {
  private readonly byFields = new Map<string, GroupCommit<number, Lead | undefined>>();

  constructor(
    private readonly marketo: Pick<MarketoClient, 'leads'>,
    private readonly options: Omit<GroupCommitOptions, 'maxBatch'> = {},
  ) {}

  /** The lead, or undefined when Marketo has no lead with that id (deleted, merged away, never existed). */
  read(id: number, fields: readonly string[]): Promise<Lead | undefined> {
    const key = fields.join(',');
    let group = this.byFields.get(key);
    if (!group) {
      const list = [...fields];
      group = new GroupCommit((ids) => this.fetch(ids, list), { minIntervalMs: READ_INTERVAL_MS, ...this.options, maxBatch: MAX_IDS_PER_CALL });
      this.byFields.set(key, group);
    }
    return group.submit(id);
  }

  private async fetch(ids: number[], fields: string[]): Promise<(Lead | undefined)[]> {
    const page = await this.marketo.leads.getByFilter({ filterType: 'id', filterValues: [...new Set(ids)], fields, batchSize: MAX_IDS_PER_CALL });
    const found = new Map(page.items.map((lead) => [lead.id, lead]));
    return ids.map((id) => found.get(id));
  }
}
