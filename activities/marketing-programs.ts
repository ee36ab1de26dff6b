import { campaignRecord } from '../src/marketing/campaign-record.js';
import type { Program } from '../src/marketo/programs.js';
import { marketoCall } from './failures.js';
import { buildAll, upsertAndLedger } from './marketing-writes.js';
import type { MarketingDeps, ParentsLoaded } from './marketing-static-lists.js';

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

export function createMarketingProgramActivities(deps: MarketingDeps) {
  return {
    async loadMarketingPrograms(): Promise<ParentsLoaded> {
      return marketoCall(() => loadPrograms(deps));
    },
  };
}
