import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { PersonRefs, PersonType } from '../src/reconcile/person-mapping.js';

export interface StagedPerson extends PersonRefs {
  marketoId: string;
  type: PersonType;
  /** The account was set when the person was written (its company was already loaded). */
  accountLinked?: boolean;
  /** The owner was set when the person was written (its salesperson was already loaded). */
  ownerLinked?: boolean;
}

/** CRM ids of the companies and salespersons already loaded, by their Marketo keys. */
export interface LoadedTargets {
  companies: Map<string, string>;
  salesPersons: Map<string, string>;
}

/**
 * The company and salesperson keys seen on leads during a bootstrap, per run and person. They are
 * too many for workflow history (one per lead), and the later phases need both the distinct keys
 * (what to fetch) and the per-person pairs (what to link once accounts and users exist).
 * Upserts keyed on (run, lead), so a retried window stages nothing twice. The tables come from
 * the state store's migrations (src/store/migrations.ts).
 */
export class BootstrapStaging {
  private readonly table: string;
  /** Opportunity roles seen in Add to Opportunity activities, one row per activity. */
  readonly roleRefs: string;
  /**
   * Marketo objects a phase loaded (company, opportunity, salesPerson): the CRM id each became and
   * the keys it references, for the set-based link steps once the referenced records exist.
   */
  readonly loaded: string;
  /** Distinct company and salesperson keys seen so far (what the loading steps fetch). */
  readonly keys: string;
  /** The state store's schema, quoted (its id map and error ledger live there too). */
  readonly qschema: string;

  constructor(
    readonly pool: pg.Pool,
    schema: string,
  ) {
    this.qschema = escapeIdentifier(schema);
    this.table = `${escapeIdentifier(schema)}.bootstrap_person_refs`;
    this.roleRefs = `${escapeIdentifier(schema)}.bootstrap_role_refs`;
    this.loaded = `${escapeIdentifier(schema)}.bootstrap_loaded`;
    this.keys = `${escapeIdentifier(schema)}.bootstrap_keys`;
  }

  /** The person refs table, for the link queries of the later phases. */
  get personRefs(): string {
    return this.table;
  }

  /** Which of these companies and salespersons are loaded already (so a person can be written linked). */
  async loadedTargets(runId: string, people: readonly PersonRefs[]): Promise<LoadedTargets> {
    const companies = distinct(people.map((p) => p.externalCompanyId));
    const salesPersons = distinct(people.map((p) => p.externalSalesPersonId));
    const out: LoadedTargets = { companies: new Map(), salesPersons: new Map() };
    if (companies.length === 0 && salesPersons.length === 0) return out;
    const { rows } = await this.pool.query<{ kind: string; key: string; crm_id: string }>(
      `SELECT kind, key, crm_id FROM ${this.loaded}
       WHERE run_id = $1 AND crm_id IS NOT NULL
         AND ((kind = 'company' AND key = ANY($2::text[])) OR (kind = 'salesPerson' AND key = ANY($3::text[])))`,
      [runId, companies, salesPersons],
    );
    for (const r of rows) (r.kind === 'company' ? out.companies : out.salesPersons).set(r.key, r.crm_id);
    return out;
  }

  /**
   * One statement: the persons (with whether their references were set at write time) and the
   * distinct keys they name. A retried window keeps a reference marked set unless its key changed.
   */
  async stage(runId: string, staged: readonly StagedPerson[]): Promise<void> {
    if (staged.length === 0) return;
    // One row per person (the last): ON CONFLICT cannot update a row twice in one statement.
    const people = [...new Map(staged.map((p) => [p.marketoId, p])).values()];
    const keys = [
      ...distinct(people.map((p) => p.externalCompanyId)).map((k) => ['company', k] as const),
      ...distinct(people.map((p) => p.externalSalesPersonId)).map((k) => ['salesPerson', k] as const),
    ];
    await this.pool.query(
      `WITH staged AS (
         INSERT INTO ${this.table} AS t (run_id, marketo_lead_id, person_type, external_company_id, external_sales_person_id, account_linked, owner_linked)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[])
         ON CONFLICT (run_id, marketo_lead_id) DO UPDATE SET person_type = EXCLUDED.person_type,
           external_company_id = EXCLUDED.external_company_id, external_sales_person_id = EXCLUDED.external_sales_person_id,
           account_linked = EXCLUDED.account_linked OR (t.account_linked AND t.external_company_id IS NOT DISTINCT FROM EXCLUDED.external_company_id
                                                        AND t.person_type = EXCLUDED.person_type),
           owner_linked = EXCLUDED.owner_linked OR (t.owner_linked AND t.external_sales_person_id IS NOT DISTINCT FROM EXCLUDED.external_sales_person_id
                                                    AND t.person_type = EXCLUDED.person_type)
         RETURNING 1)
       INSERT INTO ${this.keys} (run_id, kind, key) SELECT $1, * FROM unnest($8::text[], $9::text[]) ORDER BY 2, 3 ON CONFLICT DO NOTHING`,
      [
        runId,
        people.map((p) => p.marketoId),
        people.map((p) => p.type),
        people.map((p) => p.externalCompanyId),
        people.map((p) => p.externalSalesPersonId),
        people.map((p) => p.accountLinked === true),
        people.map((p) => p.ownerLinked === true),
        keys.map((k) => k[0]),
        keys.map((k) => k[1]),
      ],
    );
  }

  /**
   * Adds the company and salesperson keys not seen yet (what the loading steps fetch). Known keys
   * are filtered out before the insert: a key another open transaction just inserted would make
   * this one wait for it.
   */
  async stageKeys(runId: string, keys: readonly (readonly ['company' | 'salesPerson', string])[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.keys} (run_id, kind, key)
       SELECT $1, u.kind, u.key FROM unnest($2::text[], $3::text[]) AS u(kind, key)
       WHERE NOT EXISTS (SELECT 1 FROM ${this.keys} k WHERE k.run_id = $1 AND k.kind = u.kind AND k.key = u.key)
       ORDER BY 2, 3 ON CONFLICT DO NOTHING`,
      [runId, keys.map((k) => k[0]), keys.map((k) => k[1])],
    );
  }

  async count(runId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} WHERE run_id = $1`, [runId]);
    return Number(rows[0]?.n ?? 0);
  }
}

function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}

export interface StagedRoleRef {
  activityGuid: string;
  marketoLeadId: number;
  externalOpportunityId: string | null;
  opportunityGuid: string | null;
  role: string | null;
}

/** Stages Add to Opportunity activities (idempotent on the activity's GUID). */
export async function stageRoleRefs(staging: BootstrapStaging, runId: string, refs: readonly StagedRoleRef[]): Promise<void> {
  if (refs.length === 0) return;
  await staging.pool.query(
    `INSERT INTO ${staging.roleRefs} (run_id, activity_guid, marketo_lead_id, external_opportunity_id, opportunity_guid, role)
     SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (run_id, activity_guid) DO NOTHING`,
    [runId, refs.map((r) => r.activityGuid), refs.map((r) => r.marketoLeadId), refs.map((r) => r.externalOpportunityId), refs.map((r) => r.opportunityGuid), refs.map((r) => r.role)],
  );
}

/**
 * Whether connections of `pool` reach the same database as the state store's and may write its
 * id map, ledger and staging tables, so one transaction can hold a batch's CRM and state writes.
 * Two connection strings can name one database in many ways (host aliases, proxies), so it is
 * asked of the servers: the CRM side looks for the state store's own backend (pid and start time)
 * among its database's sessions. Any doubt (another server, another database, sessions hidden
 * from the role, missing privileges) answers false and the writes stay apart.
 */
export async function sharesDatabase(pool: pg.Pool, staging: BootstrapStaging): Promise<boolean> {
  const stateClient = await staging.pool.connect();
  try {
    const { rows: me } = await stateClient.query<{ pid: number; started: string }>(
      `SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
    );
    const self = me[0];
    if (!self) return false;
    const s = staging.qschema;
    const { rows } = await pool.query<{ same: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2 AND datname = current_database())
              AND has_table_privilege($3, 'INSERT, UPDATE') AND has_table_privilege($4, 'INSERT, UPDATE')
              AND has_table_privilege($5, 'INSERT, UPDATE') AND has_table_privilege($6, 'INSERT') AND has_table_privilege($7, 'SELECT') AS same`,
      [self.pid, self.started, `${s}.id_map`, `${s}.error_ledger`, staging.personRefs, staging.keys, staging.loaded],
    );
    return rows[0]?.same === true;
  } finally {
    stateClient.release();
  }
}
