import { escapeIdentifier } from 'pg';
import type { CrmConnector } from '../src/crm/connector.js';
import type { MappingConfig } from '../src/mapping/mapping-config.js';
import type { MarketoClient } from '../src/marketo/index.js';
import type { MarketoObject, ObjectApi } from '../src/marketo/objects.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import type { IdLink } from '../src/store/id-map.js';
import type { StateStore } from '../src/store/state-store.js';
import { recordAttempts, type Attempt } from './bootstrap-keys.js';
import { loadObjectMappings, SALES_OBJECTS, type ObjectMapping, type SalesObject } from './bootstrap-object-mapping.js';
import { BootstrapStaging } from './bootstrap-staging.js';
import type { LoadCounts } from '../workflows/bootstrap-types.js';

export interface SalesLoaderDeps {
  marketo: MarketoClient;
  store: StateStore;
  crm: CrmConnector;
}

/** Marketo's maximum filter values (and records) per Get call. */
export const PER_CALL = 300;
export const OPERATION = 'bootstrap';

/** How each object is asked for and keyed: the Marketo filter, the field holding the key, the CRM key column. */
export const LOAD = {
  company: { filterType: 'externalCompanyId', keyField: 'externalCompanyId', crmKey: 'external_company_id', idField: 'id' },
  salesPerson: { filterType: 'externalSalesPersonId', keyField: 'externalSalesPersonId', crmKey: 'external_sales_person_id', idField: 'id' },
  opportunity: { filterType: 'externalOpportunityId', keyField: 'externalOpportunityId', crmKey: 'external_opportunity_id', idField: 'marketoGUID' },
} as const;

export function text(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : String(v);
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What one load by keys did: counts only. */
export type LoadOutcome = LoadCounts;

/** The staging tables a bootstrap fills from empty and whose keys, loads and links the phases look up. */
const STAGING_TABLES = ['bootstrap_loaded', 'bootstrap_keys', 'bootstrap_person_refs', 'bootstrap_role_refs'] as const;
/** Re-analyze a staging table once rows written since its last analyze pass half of what it held then (and at least this many). */
const STALE_MIN_ROWS = 1_000;

/**
 * Why: the staging tables grow from empty to tens of thousands of rows within a minute or two,
 * faster than autovacuum (one look per database a minute) analyzes them. Planned on statistics
 * of a far smaller table, the keys and links lookups (pendingKeys, pendingLinks) and the person
 * batch's target lookup run as nested loops comparing every row with every row: 0.2-0.8 s a
 * call at 4,000 companies, over half of Postgres' time during a 200k-lead ingest
 * (bench/bootstrap-cpu-split.ts), O(n²) beyond. One ANALYZE per table whenever it has grown by
 * half keeps the plans hash joins and index probes (3.4 s → 11 ms for pendingKeys at 4,000
 * companies). One refresh at a time per process; a failed one is left to the next caller (it
 * only costs plan quality).
 */
function stagingStatistics(staging: BootstrapStaging): () => Promise<void> {
  let running: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    const { rows } = await staging.pool.query<{ relname: string; live: number; mods: number }>(
      `SELECT relname, n_live_tup::float8 AS live, n_mod_since_analyze::float8 AS mods
       FROM pg_stat_user_tables WHERE relid = ANY($1::regclass[])`,
      [STAGING_TABLES.map((t) => `${staging.qschema}.${t}`)],
    );
    for (const r of rows) {
      if (r.mods < STALE_MIN_ROWS || r.mods < 0.5 * Math.max(0, r.live - r.mods)) continue;
      await staging.pool.query(`ANALYZE ${staging.qschema}.${escapeIdentifier(r.relname)}`);
    }
  };
  return () =>
    (running ??= refresh()
      .catch(() => undefined)
      .finally(() => (running = undefined)));
}

/**
 * Fetching and writing the sales objects (companies, salespersons, opportunities, roles) by their
 * keys, shared by the sales phases' activities and the lead ingest, which loads the companies and
 * salespersons a batch names before writing its persons. One loader per set of dependencies, so
 * both share the mappings (five describe calls, once per worker process).
 */
export function salesObjectLoader(deps: SalesLoaderDeps): SalesObjectLoader {
  let byStore = loaders.get(deps.marketo);
  if (!byStore) loaders.set(deps.marketo, (byStore = new WeakMap()));
  let byCrm = byStore.get(deps.store);
  if (!byCrm) byStore.set(deps.store, (byCrm = new WeakMap()));
  let loader = byCrm.get(deps.crm);
  if (!loader) byCrm.set(deps.crm, (loader = createLoader(deps)));
  return loader;
}

const loaders = new WeakMap<object, WeakMap<object, WeakMap<object, SalesObjectLoader>>>();

function createLoader(deps: SalesLoaderDeps) {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  const freshStatistics = stagingStatistics(staging);
  let mappings: Promise<Record<SalesObject, ObjectMapping>> | undefined;
  // Once per worker process: five describe calls, not five per step.
  const mapping = async (name: SalesObject): Promise<ObjectMapping> => {
    mappings ??= loadObjectMappings({
      marketo: deps.marketo,
      crm: deps.crm,
      currentMapping: async (): Promise<MappingConfig | undefined> => (await deps.store.mappings.current())?.config,
    }).catch((err: unknown) => {
      mappings = undefined;
      throw err;
    });
    return (await mappings)[name];
  };
  const apiOf = (name: SalesObject): ObjectApi =>
    ({ company: deps.marketo.companies, salesPerson: deps.marketo.salesPersons, opportunity: deps.marketo.opportunities, opportunityRole: deps.marketo.opportunityRoles })[name];

  /** Every record matching the values, following paging; calls counted. */
  async function fetchAll(page: (token?: string) => ReturnType<ObjectApi['get']>): Promise<{ records: MarketoObject[]; calls: number }> {
    const records: MarketoObject[] = [];
    let calls = 0;
    let token: string | undefined;
    for (;;) {
      const p = await page(token);
      calls += 1;
      records.push(...p.items);
      if (!p.moreResult || p.nextPageToken === undefined || p.nextPageToken === token) return { records, calls };
      token = p.nextPageToken;
    }
  }

  /** Upserts mapped records, links ids, ledgers failures; returns the CRM id per key (null: refused). */
  async function writeObjects(
    name: SalesObject,
    items: { key: string; marketoId: string | null; outcome: ReturnType<ObjectMapping['map']> }[],
    keyField: string,
  ): Promise<{ crmIds: Map<string, string | null>; written: number; failed: number }> {
    const crmEntity = SALES_OBJECTS[name].crm;
    const failures: RecordFailure[] = [];
    const crmIds = new Map<string, string | null>();
    const ok: typeof items = [];
    for (const item of items) {
      if (item.outcome.ok) ok.push(item);
      else {
        crmIds.set(item.key, null);
        failures.push({ entity: crmEntity, recordKey: item.key, operation: OPERATION, source: 'marketo', code: 'MAPPING', reason: item.outcome.errors.join('; ') });
      }
    }
    const results = ok.length ? await deps.crm.upsert(crmEntity, ok.map((i) => i.outcome.record), { keyField }) : [];
    const links: IdLink[] = [];
    const succeeded: string[] = [];
    for (const r of results) {
      const item = ok[r.index]!;
      if (r.status === 'failed') {
        crmIds.set(item.key, null);
        failures.push({ entity: crmEntity, recordKey: item.key, operation: OPERATION, source: 'crm', code: r.code, reason: r.reason });
      } else {
        crmIds.set(item.key, r.id);
        succeeded.push(item.key);
        if (item.marketoId) links.push({ entity: name, marketoId: item.marketoId, crmType: crmEntity, crmId: r.id });
      }
    }
    await deps.store.idMap.link(links);
    await deps.store.errors.record(failures);
    if (succeeded.length) await deps.store.errors.resolve(crmEntity, OPERATION, succeeded);
    return { crmIds, written: succeeded.length, failed: failures.length };
  }

  /**
   * Gets companies, salespersons or opportunities by their external keys (300 a call), writes them
   * keyed on the same key and records every key as attempted (found or not) with its references.
   */
  async function loadByKeys(runId: string, kind: keyof typeof LOAD, keys: readonly string[]): Promise<LoadOutcome> {
    const how = LOAD[kind];
    const m = await mapping(kind);
    const api = apiOf(kind);
    const fetched = await Promise.all(chunks(keys, PER_CALL).map((values) => fetchAll((token) => api.get({ filterType: how.filterType, filterValues: values, fields: m.fields, ...(token ? { nextPageToken: token } : {}) }))));
    const records = fetched.flatMap((f) => f.records);
    const { written, failed, firstRecorded } = await writeFetched(runId, kind, keys, records);
    // Records this load brought in first: one the preload and a follower round both fetched counts once.
    return { records: firstRecorded, written, failed, apiCalls: fetched.reduce((n, f) => n + f.calls, 0) };
  }

  /**
   * Writes records already read from Marketo (by `loadByKeys`, or by a sink that read them for its
   * own reasons, e.g. the Add to Opportunity sink resolving Oppty IDs) keyed on their external key,
   * and records every one of `keys` as attempted (found among `records` or not) with its references.
   */
  async function writeFetched(runId: string, kind: keyof typeof LOAD, keys: readonly string[], records: readonly MarketoObject[]): Promise<{ written: number; failed: number; firstRecorded: number }> {
    const how = LOAD[kind];
    const m = await mapping(kind);
    const wanted = new Set(keys);
    const items: Parameters<typeof writeObjects>[1] = [];
    const refs = new Map<string, { companyKey: string | null; salesPersonKey: string | null }>();
    for (const rec of records) {
      const key = text(rec[how.keyField]);
      if (key === null || !wanted.has(key) || refs.has(key)) continue;
      const outcome = m.map(rec);
      outcome.record[how.crmKey] = key;
      items.push({ key, marketoId: text(rec[how.idField]), outcome });
      refs.set(key, { companyKey: kind === 'opportunity' ? text(rec.externalCompanyId) : null, salesPersonKey: kind === 'salesPerson' ? null : text(rec.externalSalesPersonId) });
    }
    const { crmIds, written, failed } = await writeObjects(kind, items, how.crmKey);
    // Keys Marketo does not have are attempted too (crm id null): no later round asks again.
    const attempts: Attempt[] = keys.map((key) => ({ key, crmId: crmIds.get(key) ?? null, ...(refs.get(key) ?? {}) }));
    const first = await recordAttempts(staging, runId, kind, attempts);
    await freshStatistics();
    return { written, failed, firstRecorded: [...refs.keys()].filter((key) => first.has(key)).length };
  }

  return { staging, mapping, apiOf, fetchAll, write: writeObjects, loadByKeys, writeFetched, freshStatistics };
}

export type SalesObjectLoader = ReturnType<typeof createLoader>;
