import type { BootstrapStaging } from './bootstrap-staging.js';

/** Marketo objects the sales phases load by key, as `bootstrap_loaded.kind`. */
export type LoadedKind = 'company' | 'salesPerson' | 'opportunity' | 'opportunityRole';

export interface Attempt {
  key: string;
  /** The CRM record it became; null when Marketo had no such record or the CRM refused it (ledger). */
  crmId: string | null;
  companyKey?: string | null;
  salesPersonKey?: string | null;
}

export interface RoleKey {
  externalOpportunityId: string;
  leadId: number;
  role: string;
}

/** The dedupe key of a role as one text (unit separator: never part of an id or a role name). */
export function roleKeyText(k: RoleKey): string {
  return `${k.externalOpportunityId}\u001f${k.leadId}\u001f${k.role}`;
}

/**
 * Keys referenced so far and not attempted yet, in key order. Phases run in rounds while the
 * phases that stage keys are still running, so each round takes only what is new; an attempted
 * key (found or not) is never asked for again.
 */
export async function pendingKeys(staging: BootstrapStaging, runId: string, kind: 'company' | 'salesPerson' | 'opportunity', limit: number): Promise<string[]> {
  const sources: Record<typeof kind, string> = {
    company: `SELECT key FROM ${staging.keys} WHERE run_id = $1 AND kind = 'company'
              UNION SELECT company_key FROM ${staging.loaded} WHERE run_id = $1 AND kind = 'opportunity' AND company_key IS NOT NULL`,
    salesPerson: `SELECT key FROM ${staging.keys} WHERE run_id = $1 AND kind = 'salesPerson'
              UNION SELECT sales_person_key FROM ${staging.loaded} WHERE run_id = $1 AND kind IN ('company', 'opportunity') AND sales_person_key IS NOT NULL`,
    opportunity: `SELECT external_opportunity_id FROM ${staging.roleRefs} WHERE run_id = $1 AND external_opportunity_id IS NOT NULL`,
  };
  const { rows } = await staging.pool.query<{ k: string }>(
    `SELECT DISTINCT s.k FROM (${sources[kind]}) AS s(k)
     WHERE NOT EXISTS (SELECT 1 FROM ${staging.loaded} l WHERE l.run_id = $1 AND l.kind = $2 AND l.key = s.k)
     ORDER BY s.k LIMIT $3`,
    [runId, kind, limit],
  );
  return rows.map((r) => r.k);
}

export async function recordAttempts(staging: BootstrapStaging, runId: string, kind: LoadedKind, attempts: readonly Attempt[]): Promise<Set<string>> {
  if (attempts.length === 0) return new Set();
  // xmax = 0: the row was inserted by this statement, not updated. A key another load recorded
  // first (the lead ingest's preload and a follower round may both fetch a key in flight) is
  // written again harmlessly, but counted once, by whichever recorded it first.
  const { rows } = await staging.pool.query<{ key: string; inserted: boolean }>(
    `INSERT INTO ${staging.loaded} AS t (run_id, kind, key, crm_id, company_key, sales_person_key)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (run_id, kind, key) DO UPDATE SET crm_id = EXCLUDED.crm_id, company_key = EXCLUDED.company_key, sales_person_key = EXCLUDED.sales_person_key
     RETURNING t.key, (t.xmax = 0) AS inserted`,
    [runId, kind, attempts.map((a) => a.key), attempts.map((a) => a.crmId), attempts.map((a) => a.companyKey ?? null), attempts.map((a) => a.salesPersonKey ?? null)],
  );
  return new Set(rows.filter((r) => r.inserted).map((r) => r.key));
}

/** CRM ids of loaded records by key (absent: not loaded). */
export async function crmIdsByKey(staging: BootstrapStaging, runId: string, kind: LoadedKind, keys: readonly string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const { rows } = await staging.pool.query<{ key: string; crm_id: string }>(
    `SELECT key, crm_id FROM ${staging.loaded} WHERE run_id = $1 AND kind = $2 AND key = ANY($3::text[]) AND crm_id IS NOT NULL`,
    [runId, kind, keys],
  );
  return new Map(rows.map((r) => [r.key, r.crm_id]));
}

/**
 * Role keys staged from Add to Opportunity activities and not attempted yet, whose opportunity
 * was attempted. Until the leads phase is done only roles of leads already written (in the id
 * map: a person linked at write time has no staging row) are taken (`requireLead`); the last
 * round takes the rest (their person may be outside the load: ledger).
 */
export async function pendingRoleKeys(staging: BootstrapStaging, runId: string, limit: number, requireLead: boolean): Promise<RoleKey[]> {
  const { rows } = await staging.pool.query<{ ext: string; lead: string; role: string }>(
    `SELECT DISTINCT r.external_opportunity_id AS ext, r.marketo_lead_id AS lead, r.role
     FROM ${staging.roleRefs} r
     WHERE r.run_id = $1 AND r.external_opportunity_id IS NOT NULL AND r.role IS NOT NULL
       AND EXISTS (SELECT 1 FROM ${staging.loaded} o WHERE o.run_id = $1 AND o.kind = 'opportunity' AND o.key = r.external_opportunity_id)
       AND ($3::boolean = false OR EXISTS (SELECT 1 FROM ${staging.qschema}.id_map m WHERE m.entity = 'lead' AND m.marketo_id = r.marketo_lead_id::text))
       AND NOT EXISTS (SELECT 1 FROM ${staging.loaded} l WHERE l.run_id = $1 AND l.kind = 'opportunityRole'
                       AND l.key = r.external_opportunity_id || chr(31) || r.marketo_lead_id::text || chr(31) || r.role)
     ORDER BY 1, 2, 3 LIMIT $2`,
    [runId, limit, requireLead],
  );
  return rows.map((r) => ({ externalOpportunityId: r.ext, leadId: Number(r.lead), role: r.role }));
}

export type LinkTarget = 'contactAccounts' | 'opportunityAccounts' | 'personOwners' | 'accountOwners' | 'opportunityOwners';

/**
 * One record whose references to set: the record (by Marketo lead id for persons, CRM id
 * otherwise) and the CRM ids it points at. Persons get account and owner in one write.
 */
export interface PendingLink {
  /** Marketo lead id (persons) or CRM id (accounts, opportunities). */
  key: string;
  personType?: 'lead' | 'contact';
  accountId?: string;
  ownerId?: string;
}

const LINK_FLAG: Record<Exclude<LinkTarget, 'contactAccounts' | 'personOwners'>, 'account_linked' | 'owner_linked'> = {
  opportunityAccounts: 'account_linked',
  accountOwners: 'owner_linked',
  opportunityOwners: 'owner_linked',
};

const isPersonTarget = (target: LinkTarget): target is 'contactAccounts' | 'personOwners' => target === 'contactAccounts' || target === 'personOwners';

/**
 * References whose target is loaded and that are not set yet, in a stable order. For persons both
 * targets mean the same: every person with an account or an owner to set, both taken together
 * (most persons are written with theirs already set; see writeLeadBatch).
 */
export async function pendingLinks(staging: BootstrapStaging, runId: string, target: LinkTarget, limit: number): Promise<PendingLink[]> {
  const p = staging.personRefs;
  const l = staging.loaded;
  if (isPersonTarget(target)) {
    const { rows } = await staging.pool.query<{ key: string; type: 'lead' | 'contact'; account: string | null; owner: string | null }>(
      `SELECT key, type, account, owner FROM (
         SELECT r.marketo_lead_id, r.marketo_lead_id::text AS key, r.person_type AS type,
                CASE WHEN r.person_type = 'contact' AND NOT r.account_linked THEN c.crm_id END AS account,
                CASE WHEN NOT r.owner_linked THEN s.crm_id END AS owner
         FROM ${p} r
         LEFT JOIN ${l} c ON c.run_id = r.run_id AND c.kind = 'company' AND c.key = r.external_company_id AND c.crm_id IS NOT NULL
         LEFT JOIN ${l} s ON s.run_id = r.run_id AND s.kind = 'salesPerson' AND s.key = r.external_sales_person_id AND s.crm_id IS NOT NULL
         WHERE r.run_id = $1 AND ((NOT r.account_linked AND r.person_type = 'contact') OR NOT r.owner_linked)) x
       WHERE account IS NOT NULL OR owner IS NOT NULL
       ORDER BY marketo_lead_id LIMIT $2`,
      [runId, limit],
    );
    return rows.map((r) => ({ key: r.key, personType: r.type, ...(r.account ? { accountId: r.account } : {}), ...(r.owner ? { ownerId: r.owner } : {}) }));
  }
  const sql: Record<typeof target, string> = {
    opportunityAccounts: `SELECT o.crm_id AS key, t.crm_id AS target FROM ${l} o
      JOIN ${l} t ON t.run_id = o.run_id AND t.kind = 'company' AND t.key = o.company_key AND t.crm_id IS NOT NULL
      WHERE o.run_id = $1 AND o.kind = 'opportunity' AND o.crm_id IS NOT NULL AND NOT o.account_linked ORDER BY o.key LIMIT $2`,
    accountOwners: `SELECT o.crm_id AS key, t.crm_id AS target FROM ${l} o
      JOIN ${l} t ON t.run_id = o.run_id AND t.kind = 'salesPerson' AND t.key = o.sales_person_key AND t.crm_id IS NOT NULL
      WHERE o.run_id = $1 AND o.kind = 'company' AND o.crm_id IS NOT NULL AND NOT o.owner_linked ORDER BY o.key LIMIT $2`,
    opportunityOwners: `SELECT o.crm_id AS key, t.crm_id AS target FROM ${l} o
      JOIN ${l} t ON t.run_id = o.run_id AND t.kind = 'salesPerson' AND t.key = o.sales_person_key AND t.crm_id IS NOT NULL
      WHERE o.run_id = $1 AND o.kind = 'opportunity' AND o.crm_id IS NOT NULL AND NOT o.owner_linked ORDER BY o.key LIMIT $2`,
  };
  const { rows } = await staging.pool.query<{ key: string; target: string }>(sql[target], [runId, limit]);
  return rows.map((r) => ({ key: r.key, ...(LINK_FLAG[target] === 'account_linked' ? { accountId: r.target } : { ownerId: r.target }) }));
}

/** Marks references as set (or given up on: the record is not in the CRM), so no round takes them again. */
export async function markLinked(staging: BootstrapStaging, runId: string, target: LinkTarget, links: readonly PendingLink[]): Promise<void> {
  if (links.length === 0) return;
  if (isPersonTarget(target)) {
    await staging.pool.query(
      `UPDATE ${staging.personRefs} SET account_linked = account_linked OR marketo_lead_id = ANY($2::bigint[]),
         owner_linked = owner_linked OR marketo_lead_id = ANY($3::bigint[])
       WHERE run_id = $1 AND marketo_lead_id = ANY($4::bigint[])`,
      [runId, links.filter((k) => k.accountId).map((k) => k.key), links.filter((k) => k.ownerId).map((k) => k.key), links.map((k) => k.key)],
    );
    return;
  }
  const flag = LINK_FLAG[target];
  const kind = target === 'accountOwners' ? 'company' : 'opportunity';
  await staging.pool.query(`UPDATE ${staging.loaded} SET ${flag} = true WHERE run_id = $1 AND kind = $2 AND crm_id = ANY($3::text[])`, [runId, kind, links.map((k) => k.key)]);
}
