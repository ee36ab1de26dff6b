import { z } from 'zod';
import { formatMarketoDateTime } from './dates.js';
import { marketoDateTime } from './envelope.js';
import { paginateByOffset } from './paging.js';
import { parseInput } from './results.js';
import type { MarketoTransport } from './transport.js';

/** A program from the asset API (dates there look like `2017-07-27T01:38:33Z+0000`). */
export const programSchema = z.looseObject({
  id: z.number().int().positive(),
  name: z.string(),
  description: z.string().nullable().optional(),
  createdAt: marketoDateTime,
  updatedAt: marketoDateTime,
  url: z.string().optional(),
  type: z.string().optional(),
  channel: z.string().optional(),
  folder: z.looseObject({ type: z.string(), value: z.number().int() }).optional(),
  status: z.string().optional(),
  workspace: z.string().optional(),
});
export type Program = z.output<typeof programSchema>;

const browseSchema = z
  .object({
    maxReturn: z.number().int().min(1).max(200).default(200),
    offset: z.number().int().nonnegative().default(0),
    filterType: z.enum(['id', 'programId', 'folderId', 'workspace']).optional(),
    filterValues: z.array(z.union([z.string().min(1), z.number()])).min(1).optional(),
    earliestUpdatedAt: z.date().optional(),
    latestUpdatedAt: z.date().optional(),
    status: z.enum(['on', 'off', 'unlocked']).optional(),
  })
  .strict()
  .refine((q) => (q.filterType === undefined) === (q.filterValues === undefined), {
    message: 'filterType and filterValues go together',
    path: ['filterValues'],
  });
export type BrowseProgramsQuery = z.input<typeof browseSchema>;

export class ProgramsApi {
  constructor(private readonly t: MarketoTransport) {}

  /** One page of Browse Programs; an empty page is `[]` (Marketo sends only a "No assets found" warning). */
  async browse(query: BrowseProgramsQuery = {}): Promise<Program[]> {
    const q = parseInput(browseSchema, query, 'browse programs query');
    const env = await this.t.request(
      {
        method: 'GET',
        path: '/rest/asset/v1/programs.json',
        query: {
          maxReturn: q.maxReturn,
          offset: q.offset,
          filterType: q.filterType,
          filterValues: q.filterValues,
          earliestUpdatedAt: q.earliestUpdatedAt && formatMarketoDateTime(q.earliestUpdatedAt),
          latestUpdatedAt: q.latestUpdatedAt && formatMarketoDateTime(q.latestUpdatedAt),
          status: q.status,
        },
      },
      programSchema,
    );
    return env.result ?? [];
  }

  /** Every page of Browse Programs, by offset. */
  iterateBrowse(query: Omit<BrowseProgramsQuery, 'offset'> = {}): AsyncGenerator<Program[]> {
    const maxReturn = query.maxReturn ?? 200;
    return paginateByOffset((offset, max) => this.browse({ ...query, offset, maxReturn: max }), maxReturn);
  }

  async getById(programId: number): Promise<Program | undefined> {
    parseInput(z.number().int().positive(), programId, 'program id');
    return (await this.t.request({ method: 'GET', path: `/rest/asset/v1/program/${programId}.json` }, programSchema)).result?.[0];
  }
}
