import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { PersonRefs, PersonType } from '../src/reconcile/person-mapping.js';

export interface StagedPerson extends PersonRefs {
  marketoId: string;
  type: PersonType;
}

/**
 * The company and salesperson keys seen on leads during a bootstrap, per run and person. They are
 * too many for workflow history (one per lead), and the later phases need both the distinct keys
 * (what to fetch) and the per-person pairs (what to link once accounts and users exist).
 * Upserts keyed on (run, lead), so a retried window stages nothing twice.
 */
export class BootstrapStaging {
  private ready: Promise<void> | undefined;
  private readonly table: string;
  /** Opportunity roles seen in Add to Opportunity activities, one row per activity. */
  readonly roleRefs: string;
  /**
   * Marketo objects a phase loaded (company, opportunity, salesPerson): the CRM id each became and
   * the keys it references, for the set-based link steps once the referenced records exist.
   */
  readonly loaded: string;

  constructor(
    readonly pool: pg.Pool,
    schema: string,
  ) {
    this.table = `${escapeIdentifier(schema)}.bootstrap_person_refs`;
    this.roleRefs = `${escapeIdentifier(schema)}.bootstrap_role_refs`;
    this.loaded = `${escapeIdentifier(schema)}.bootstrap_loaded`;
  }

  /** The person refs table, for the link queries of the later phases. */
  get personRefs(): string {
    return this.table;
  }

  ensure(): Promise<void> {
    // The state store has no migration for these yet (see docs/bootstrap.md); created on first use.
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           run_id text NOT NULL,
           marketo_lead_id bigint NOT NULL,
           person_type text NOT NULL,
           external_company_id text,
           external_sales_person_id text,
           PRIMARY KEY (run_id, marketo_lead_id));
         ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS account_linked boolean NOT NULL DEFAULT false;
         ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS owner_linked boolean NOT NULL DEFAULT false;
         CREATE INDEX IF NOT EXISTS bootstrap_person_refs_account_pending ON ${this.table} (run_id, marketo_lead_id) WHERE NOT account_linked AND person_type = 'contact';
         CREATE INDEX IF NOT EXISTS bootstrap_person_refs_owner_pending ON ${this.table} (run_id, marketo_lead_id) WHERE NOT owner_linked;
         CREATE TABLE IF NOT EXISTS ${this.roleRefs} (
           run_id text NOT NULL,
           activity_guid text NOT NULL,
           marketo_lead_id bigint NOT NULL,
           external_opportunity_id text,
           opportunity_guid text,
           role text,
           PRIMARY KEY (run_id, activity_guid));
         CREATE TABLE IF NOT EXISTS ${this.loaded} (
           run_id text NOT NULL,
           kind text NOT NULL,
           key text NOT NULL,
           crm_id text,
           company_key text,
           sales_person_key text,
           account_linked boolean NOT NULL DEFAULT false,
           owner_linked boolean NOT NULL DEFAULT false,
           PRIMARY KEY (run_id, kind, key))`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = undefined;
        // Two workers creating it at once: the loser's unique violation means it exists.
        if ((err as { code?: string }).code === '23505' || (err as { code?: string }).code === '42P07') return;
        throw err;
      });
    return this.ready;
  }

  async stage(runId: string, people: readonly StagedPerson[]): Promise<void> {
    if (people.length === 0) return;
    await this.ensure();
    await this.pool.query(
      `INSERT INTO ${this.table} (run_id, marketo_lead_id, person_type, external_company_id, external_sales_person_id)
       SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (run_id, marketo_lead_id) DO UPDATE SET person_type = EXCLUDED.person_type,
         external_company_id = EXCLUDED.external_company_id, external_sales_person_id = EXCLUDED.external_sales_person_id`,
      [runId, people.map((p) => p.marketoId), people.map((p) => p.type), people.map((p) => p.externalCompanyId), people.map((p) => p.externalSalesPersonId)],
    );
  }

  /** Distinct non-empty values of one key column, in order, for fetching the referenced records. */
  async distinctKeys(runId: string, key: 'externalCompanyId' | 'externalSalesPersonId'): Promise<string[]> {
    await this.ensure();
    const column = key === 'externalCompanyId' ? 'external_company_id' : 'external_sales_person_id';
    const { rows } = await this.pool.query<{ v: string }>(
      `SELECT DISTINCT ${column} AS v FROM ${this.table} WHERE run_id = $1 AND ${column} IS NOT NULL ORDER BY 1`,
      [runId],
    );
    return rows.map((r) => r.v);
  }

  async count(runId: string): Promise<number> {
    await this.ensure();
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} WHERE run_id = $1`, [runId]);
    return Number(rows[0]?.n ?? 0);
  }
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
  await staging.ensure();
  await staging.pool.query(
    `INSERT INTO ${staging.roleRefs} (run_id, activity_guid, marketo_lead_id, external_opportunity_id, opportunity_guid, role)
     SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (run_id, activity_guid) DO NOTHING`,
    [runId, refs.map((r) => r.activityGuid), refs.map((r) => r.marketoLeadId), refs.map((r) => r.externalOpportunityId), refs.map((r) => r.opportunityGuid), refs.map((r) => r.role)],
  );
}
