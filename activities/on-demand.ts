import type { CrmConnector } from '../src/crm/connector.js';
import type { MappingConfig } from '../src/mapping/mapping-config.js';
import type { Lead, MarketoClient } from '../src/marketo/index.js';
import { loadPersonMapping, type PersonMapping, type PersonType } from '../src/reconcile/person-mapping.js';
import type { StateStore } from '../src/store/state-store.js';
import { marketoCall } from './failures.js';
import { LeadReader } from './on-demand-lead-reader.js';
import { GroupCommit } from './on-demand-group-commit.js';
import { writePersons, type PersonWriteResult } from './person-writer.js';

export interface OnDemandActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
  /** How long reads wait for company before one Marketo call fetches them all. */
  readWindowMs?: number;
  /** How long a loaded mapping is used before it is loaded again (an operator may save a new one). */
  mappingTtlMs?: number;
}

export interface OnDemandSyncInput {
  leadId: number;
  /** The webhook request that asked for it: for tracing in logs and history, nothing else. */
  requestId: string;
}

export type OnDemandOutcome = 'created' | 'updated' | 'unchanged' | 'not-found' | 'failed';

/** Keys and codes only: this lands in workflow history, lead field values never do. */
export interface OnDemandSyncResult {
  leadId: number;
  outcome: OnDemandOutcome;
  crmType?: PersonType;
  crmId?: string;
  /** For `failed`: `MAPPING` or the CRM's code (the reason is in the error ledger, operation `on-demand`). */
  code?: string;
}

export const ON_DEMAND_OPERATION = 'on-demand';

/** Caches one loaded mapping per process for `ttlMs`: loading costs three describe calls. */
function mappingCache(load: () => Promise<PersonMapping>, ttlMs: number): () => Promise<PersonMapping> {
  let cached: { at: number; mapping: Promise<PersonMapping> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const entry = { at: Date.now(), mapping: load() };
      void entry.mapping.catch(() => {
        if (cached === entry) cached = undefined;
      });
      cached = entry;
    }
    return cached.mapping;
  };
}

export function createOnDemandActivities(deps: OnDemandActivityDeps) {
  const reader = new LeadReader(deps.marketo, deps.readWindowMs === undefined ? {} : { windowMs: deps.readWindowMs });
  const mapping = mappingCache(
    () =>
      loadPersonMapping(
        { marketo: deps.marketo, crm: deps.crm, currentMapping: async (): Promise<MappingConfig | undefined> => (await deps.store.mappings.current())?.config },
        { csv: false },
      ),
    deps.mappingTtlMs ?? 5 * 60_000,
  );

  // Writes of concurrent syncs go to the CRM together: one upsert, one id-map statement per batch.
  const writers = new WeakMap<PersonMapping, GroupCommit<Lead, PersonWriteResult>>();
  const write = (m: PersonMapping, lead: Lead): Promise<PersonWriteResult> => {
    let group = writers.get(m);
    if (!group) {
      group = new GroupCommit(async (leads) => {
        // One row per lead: two versions of one lead in one upsert would collide on its key.
        const latest = new Map(leads.map((l) => [l.id, l]));
        const out = await writePersons(deps, m, [...latest.values()], { operation: ON_DEMAND_OPERATION, skipUnchanged: true });
        const byId = new Map(out.results.map((r) => [r.marketoId, r]));
        return leads.map((l) => byId.get(String(l.id))!);
      });
      writers.set(m, group);
    }
    return group.submit(lead);
  };

  return {
    /**
     * Reads one lead from Marketo by id (the webhook body is not trusted for values) and writes it
     * to the CRM through the mapping, keyed on the Marketo lead id; a CRM record that already
     * holds every mapped value is left untouched, so repeats of one webhook write once.
     */
    async syncLeadOnDemand(input: OnDemandSyncInput): Promise<OnDemandSyncResult> {
      return marketoCall(async () => {
        const m = await mapping();
        const lead = await reader.read(input.leadId, m.exportFields);
        if (!lead) return { leadId: input.leadId, outcome: 'not-found' };
        const r = await write(m, lead);
        const result: OnDemandSyncResult = { leadId: input.leadId, outcome: r.status, crmType: r.type };
        if (r.crmId !== undefined) result.crmId = r.crmId;
        if (r.code !== undefined) result.code = r.code;
        return result;
      });
    },
  };
}

export type OnDemandActivities = ReturnType<typeof createOnDemandActivities>;
