import { z } from 'zod';
import { marketoDateTime } from './envelope.js';
import { MarketoApiError } from './errors.js';
import { paginateByToken, toPage, type Page } from './paging.js';
import { parseInput } from './results.js';
import type { MarketoTransport } from './transport.js';

export const staticListSchema = z.looseObject({
  id: z.number().int().positive(),
  name: z.string(),
  description: z.string().nullable().optional(),
  programName: z.string().nullable().optional(),
  workspaceName: z.string().nullable().optional(),
  createdAt: marketoDateTime,
  updatedAt: marketoDateTime,
});
export type StaticList = z.output<typeof staticListSchema>;

const listsQuerySchema = z
  .object({
    id: z.array(z.number().int().positive()).min(1).optional(),
    name: z.array(z.string().min(1)).min(1).optional(),
    programName: z.array(z.string().min(1)).min(1).optional(),
    workspaceName: z.array(z.string().min(1)).min(1).optional(),
    batchSize: z.number().int().min(1).max(300).optional(),
    nextPageToken: z.string().min(1).optional(),
  })
  .strict();
export type ListsQuery = z.input<typeof listsQuerySchema>;

/** Static lists through the lead DB API (members are read with `leads.getByListId`). */
export class ListsApi {
  constructor(private readonly t: MarketoTransport) {}

  async get(query: ListsQuery = {}): Promise<Page<StaticList>> {
    const q = parseInput(listsQuerySchema, query, 'lists query');
    return toPage(await this.t.request({ method: 'GET', path: '/rest/v1/lists.json', query: { ...q } }, staticListSchema));
  }

  iterate(query: Omit<ListsQuery, 'nextPageToken'> = {}): AsyncGenerator<Page<StaticList>> {
    return paginateByToken((nextPageToken) => this.get({ ...query, ...(nextPageToken ? { nextPageToken } : {}) }));
  }

  /** One list, or undefined when Marketo answers 1013 "Object not found". */
  async getById(listId: number): Promise<StaticList | undefined> {
    parseInput(z.number().int().positive(), listId, 'list id');
    try {
      return (await this.t.request({ method: 'GET', path: `/rest/v1/lists/${listId}.json` }, staticListSchema)).result?.[0];
    } catch (err) {
      if (err instanceof MarketoApiError && err.code === '1013') return undefined;
      throw err;
    }
  }
}
