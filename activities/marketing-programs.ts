import { Context } from '@temporalio/activity';
import { campaignRecord } from '../src/marketing/campaign-record.js';
import type { Program } from '../src/marketo/programs.js';
import { marketoCall } from './failures.js';
import { buildAll, removeAbsentMembers, upsertAndLedger } from './marketing-writes.js';
import type { MarketingDeps, ParentsLoaded } from './marketing-static-lists.js';
import { withLiveness } from './liveness.js';

/** Browse Programs' largest page (asset API maxReturn). */
const PAGE = 200;

/**
 * Every program → a CRM campaign (keyed on `marketo_program_id`), linked in the id map as
 * entity 'program' so membership rows find their campaign. Programs are few (one asset API call
 * per 200) and their membership is current state, so all of them are read, whatever the low
 * watermark. Writes are upserts: a retried activity rewrites the same rows.
 */
export async function loadPrograms(deps: MarketingDeps): Promise<ParentsLoaded> {
  let apiCalls = 0;
  let records = 0;
  let written = 0;
  let failed = 0;
  const ids: number[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page: Program[] = await deps.marketo.programs.browse({ offset, maxReturn: PAGE });
    apiCalls += 1;
    records += page.length;
    const { built, refused } = buildAll(page, 'campaign', (p) => String(p.id), campaignRecord);
    const out = await upsertAndLedger(deps, 'campaign', 'marketo_program_id', built, refused);
    await deps.store.idMap.link([...out.ids].map(([marketoId, crmId]) => ({ entity: 'program', marketoId, crmType: 'campaign', crmId })));
    ids.push(...[...out.ids.keys()].map(Number));
    written += out.written;
    failed += out.failed;
    if (page.length < PAGE) break;
  }
  return { ids: ids.sort((a, b) => a - b), records, written, failed, apiCalls };
}

/** What pruning a group of programs' membership did. */
export interface MembersPruned {
  removed: number;
  apiCalls: number;
}

/**
 * Program membership is a snapshot: CRM campaign members Marketo no longer lists are removed.
 * Run after a program's membership export was written whole. The bulk export's rows pass through
 * batches (and retried activities), so the complete set of members is read here again, through
 * Get Leads by Program Id (`fields=id`, 300 a call: the seed's way to read membership), and only
 * a program whose every page was read is pruned; a failed read throws before anything is deleted.
 */
export async function removeAbsentProgramMembers(deps: MarketingDeps, programIds: readonly number[], heartbeat?: () => void): Promise<MembersPruned> {
  let apiCalls = 0;
  const present = new Map<number, Set<number>>();
  for (const programId of programIds) {
    const members = new Set<number>();
    for await (const page of deps.marketo.leads.iterateByProgramId(programId, { fields: ['id'], batchSize: 300 })) {
      apiCalls += 1;
      for (const lead of page.items) members.add(lead.id);
      heartbeat?.();
    }
    present.set(programId, members);
  }
  // Every program read whole: one scan of the membership table prunes them all.
  const removed = await removeAbsentMembers(deps, { entity: 'campaignMember', parentColumn: 'marketo_program_id' }, present);
  return { removed, apiCalls };
}

export function createMarketingProgramActivities(deps: MarketingDeps) {
  return {
    async loadMarketingPrograms(): Promise<ParentsLoaded> {
      return withLiveness(() => marketoCall(() => loadPrograms(deps)));
    },

    /**
     * After a program member export window: prune what Marketo no longer lists
     * (removeAbsentProgramMembers). Heartbeats each page read: a large program takes a while.
     */
    async pruneMarketingProgramMembers(input: { programIds: number[] }): Promise<MembersPruned> {
      return marketoCall(() => {
        const ctx = Context.current();
        return removeAbsentProgramMembers(deps, input.programIds, () => ctx.heartbeat());
      });
    },
  };
}
