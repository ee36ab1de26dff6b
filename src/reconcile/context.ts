import type { CrmConnector, CrmDescribe, CrmEntityName, CrmRecord } from '../crm/connector.js';
import type { MappingConfig } from '../mapping/mapping-config.js';
import { MarketoSchemas } from '../mapping/marketo-schema.js';
import { suggestMapping } from '../mapping/suggest.js';
import type { MarketoClient } from '../marketo/index.js';
import { textOrNull } from '../marketo/values.js';

/** What the reconciliation reads: Marketo through its API, the CRM through its connector, the saved mapping. */
export interface ReconcileDeps {
  marketo: MarketoClient;
  crm: Pick<CrmConnector, 'describe' | 'readChanges'>;
  /** The state store (or just its mappings): the saved mapping; without one the suggested mapping is used. */
  store?: { mappings: { current(): Promise<{ config: MappingConfig } | undefined> } };
  /** One line per step (entity started, bulk window done): the CLI prints them to stderr. Never record values. */
  progress?: (line: string) => void;
}

/** Keys of the Marketo-side records a CRM record stands for (`external_*` when Marketo-born, else the CRM id). */
export const CRM_KEY_COLUMN = {
  account: 'external_company_id',
  user: 'external_sales_person_id',
  opportunity: 'external_opportunity_id',
} as const;

export type KeyedCrmEntity = keyof typeof CRM_KEY_COLUMN;

/** A CRM account/user/opportunity's key in Marketo: the Marketo key it was loaded with, else its CRM id (what the push sends). */
export function crmKey(entity: KeyedCrmEntity, record: CrmRecord): string {
  return textOrNull(record[CRM_KEY_COLUMN[entity]]) ?? String(record.id);
}

/**
 * Shared state of one reconciliation run: Describe results, the mapping, CRM tables read once,
 * and a count of Marketo calls (this client's own, so other processes sharing a limiter do not
 * inflate it).
 */
export class ReconcileContext {
  private readonly crmCache = new Map<string, Promise<CrmRecord[]>>();
  private schemasPromise: Promise<MarketoSchemas> | undefined;
  private describePromise: Promise<CrmDescribe> | undefined;
  private mappingPromise: Promise<MappingConfig> | undefined;

  constructor(
    readonly deps: ReconcileDeps,
    readonly sample: number,
    readonly showValues: boolean,
    private readonly mappingOverride?: MappingConfig,
    private readonly customObjectNames?: string[],
  ) {}

  /** Calls this client has made so far (sum over endpoints, token requests excluded). */
  calls(): number {
    return Object.values(this.deps.marketo.usage().perEndpoint).reduce((n, c) => n + c, 0);
  }

  crmDescribe(): Promise<CrmDescribe> {
    return (this.describePromise ??= this.deps.crm.describe());
  }

  schemas(): Promise<MarketoSchemas> {
    return (this.schemasPromise ??= this.readSchemas());
  }

  mapping(): Promise<MappingConfig> {
    return (this.mappingPromise ??= (async () => {
      if (this.mappingOverride) return this.mappingOverride;
      const saved = await this.deps.store?.mappings.current();
      if (saved) return saved.config;
      return suggestMapping(await this.schemas(), await this.crmDescribe());
    })());
  }

  /** Whether the CRM has this entity at all (custom objects may not be provisioned). */
  async crmHas(entity: string): Promise<boolean> {
    return (await this.crmDescribe()).entities.some((e) => e.name === entity);
  }

  /** Every current record of a CRM entity (tombstones skipped), read once per run. */
  crmRecords(entity: CrmEntityName): Promise<CrmRecord[]> {
    let cached = this.crmCache.get(entity);
    if (!cached) {
      cached = this.readAll(entity);
      this.crmCache.set(entity, cached);
    }
    return cached;
  }

  /** CRM id → Marketo key for the entities other records refer to. */
  async keyIndex(entity: KeyedCrmEntity | 'lead' | 'contact'): Promise<Map<string, string | null>> {
    const records = await this.crmRecords(entity);
    const out = new Map<string, string | null>();
    for (const r of records) {
      const key = entity === 'lead' || entity === 'contact' ? textOrNull(r[(await this.mapping()).leadKey.crmMarketoIdField]) : crmKey(entity, r);
      out.set(String(r.id), key);
    }
    return out;
  }

  private async readAll(entity: CrmEntityName): Promise<CrmRecord[]> {
    const out: CrmRecord[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.deps.crm.readChanges(entity, { includeOwnWrites: true, snapshot: true, limit: 10_000, ...(cursor ? { cursor } : {}) });
      for (const change of page.changes) if (change.kind === 'upsert') out.push({ ...change.record, id: change.id });
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    return out;
  }

  private async readSchemas(): Promise<MarketoSchemas> {
    const marketo = this.deps.marketo;
    const input: Record<string, unknown> = { lead: await marketo.describe.leads2() };
    // Through JSON, as the schema cache stores them: the client parses datetimes into Dates while
    // the mapping's schemas take the wire's strings.
    const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    for (const [name, read] of [
      ['company', () => marketo.describe.companies()],
      ['opportunity', () => marketo.describe.opportunities()],
      ['opportunityRole', () => marketo.describe.opportunityRoles()],
      ['salesPerson', () => marketo.describe.salesPersons()],
    ] as const) {
      input[name] = plain(await read());
    }
    const custom: Record<string, unknown> = {};
    const names = this.customObjectNames ?? (this.mappingOverride ? mappedCustomObjects(this.mappingOverride) : (await marketo.describe.customObjects()).map((t) => t.name));
    for (const name of names) custom[name] = plain(await marketo.describe.customObject(name));
    input.customObjects = custom;
    return MarketoSchemas.parse(input);
  }
}

/** Custom object API names the mapping syncs. */
export function mappedCustomObjects(config: MappingConfig): string[] {
  return config.entities.filter((e) => e.enabled && e.marketo.startsWith('customObject:')).map((e) => e.marketo.slice('customObject:'.length));
}
