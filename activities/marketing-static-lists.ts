import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { CrmConnector } from '../src/crm/connector.js';
import { listMemberKey, listMemberRecord, staticListRecord } from '../src/marketing/static-list-record.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import { marketoCall } from './failures.js';
import { buildAll, parentLinks, personLinks, removeAbsentMembers, upsertAndLedger } from './marketing-writes.js';
import { withLiveness } from './liveness.js';

export interface MarketingDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
}

/** Parents (programs, lists) written: their Marketo ids for the membership step, and counts. */
export interface ParentsLoaded {
  ids: number[];
  records: number;
  written: number;
  failed: number;
  apiCalls: number;
}

export interface MembersLoaded {
  records: number;
  written: number;
  failed: number;
  apiCalls: number;
  /** Page token the last attempt resumed from (absent: it started at the first page). */
  resumedFrom?: string;
  /**
   * CRM members Marketo no longer lists, removed after a complete read. Absent when the attempt
   * resumed mid-list: it did not see the earlier pages, so it cannot tell who left (kept).
   */
  removed?: number;
}

/** Lead DB pages hold at most 300 records. */
const PAGE = 300;

/**
 * Every static list (`GET /rest/v1/lists.json`, 300 per call) → a CRM static list keyed on
 * `marketo_list_id`, linked in the id map as entity 'staticList'.
 */
export async function loadStaticLists(deps: MarketingDeps): Promise<ParentsLoaded> {
  let apiCalls = 0;
  let records = 0;
  let written = 0;
  let failed = 0;
  const ids: number[] = [];
  for await (const page of deps.marketo.lists.iterate({ batchSize: PAGE })) {
    apiCalls += 1;
    records += page.items.length;
    const { built, refused } = buildAll(page.items, 'staticList', (l) => String(l.id), staticListRecord);
    const out = await upsertAndLedger(deps, 'staticList', 'marketo_list_id', built, refused);
    await deps.store.idMap.link([...out.ids].map(([marketoId, crmId]) => ({ entity: 'staticList', marketoId, crmType: 'staticList', crmId })));
    ids.push(...[...out.ids.keys()].map(Number));
    written += out.written;
    failed += out.failed;
  }
  return { ids: ids.sort((a, b) => a - b), records, written, failed, apiCalls };
}

/** What a list member load heartbeats: the token of the next page to read, and counts so far. */
const progressSchema = z.object({
  nextPageToken: z.string().min(1).optional(),
  records: z.number().int().nonnegative(),
  written: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  apiCalls: z.number().int().nonnegative(),
});
type Progress = z.infer<typeof progressSchema>;

/**
 * The members of one static list (`GET /rest/v1/lists/{id}/leads.json?fields=id`, 300 per
 * call) → CRM list members keyed on `<listId>:<leadId>`. After each committed page it heartbeats
 * the next page token, so a retry resumes there (at most one page is written twice, and writes
 * are upserts). The list is a snapshot: once every page was read in this attempt, the CRM
 * members Marketo did not list are removed; an attempt that resumed mid-list removes nothing.
 * `heartbeat` is absent when called outside an activity (tests).
 */
export async function loadListMembers(
  deps: MarketingDeps,
  listId: number,
  resume?: unknown,
  heartbeat?: (progress: Progress) => void,
): Promise<MembersLoaded> {
  const resumed = resume === undefined ? undefined : progressSchema.parse(resume);
  const progress: Progress = resumed ? { ...resumed } : { records: 0, written: 0, failed: 0, apiCalls: 0 };
  const resumedFrom = resumed?.nextPageToken;
  const parent = (await parentLinks(deps.store, 'staticList', [listId])).get(listId);
  if (parent === undefined) throw new Error(`static list ${listId} has no CRM static list record: load the lists first`);
  let token = resumedFrom;
  const seen = new Set<number>();
  for (;;) {
    const page = await deps.marketo.leads.getByListId(listId, { fields: ['id'], batchSize: PAGE, ...(token ? { nextPageToken: token } : {}) });
    progress.apiCalls += 1;
    progress.records += page.items.length;
    const leadIds = page.items.map((l) => l.id);
    for (const id of leadIds) seen.add(id);
    const people = await personLinks(deps.store, leadIds);
    const { built, refused } = buildAll(leadIds, 'listMember', (leadId) => listMemberKey(listId, leadId), (leadId) =>
      listMemberRecord(listId, leadId, { staticListId: parent, person: people.get(leadId) }),
    );
    const out = await upsertAndLedger(deps, 'listMember', 'marketo_key', built, refused);
    progress.written += out.written;
    progress.failed += out.failed;
    const more = page.moreResult && page.nextPageToken !== undefined && page.nextPageToken !== token;
    token = more ? page.nextPageToken : undefined;
    if (token) progress.nextPageToken = token;
    else delete progress.nextPageToken;
    heartbeat?.({ ...progress });
    if (!token) break;
  }
  const result: MembersLoaded = { records: progress.records, written: progress.written, failed: progress.failed, apiCalls: progress.apiCalls };
  if (resumedFrom) result.resumedFrom = resumedFrom;
  else result.removed = await removeAbsentMembers(deps, { entity: 'listMember', parentColumn: 'marketo_list_id' }, new Map([[listId, seen]]));
  return result;
}

export function createMarketingStaticListActivities(deps: MarketingDeps) {
  return {
    async loadMarketingStaticLists(): Promise<ParentsLoaded> {
      return withLiveness(() => marketoCall(() => loadStaticLists(deps)));
    },

    /** One list's members; heartbeats its page position (see loadListMembers). */
    async loadMarketingListMembers(input: { listId: number }): Promise<MembersLoaded> {
      return marketoCall(async () => {
        const ctx = Context.current();
        return loadListMembers(deps, input.listId, ctx.info.heartbeatDetails, (p) => ctx.heartbeat(p));
      });
    },
  };
}
