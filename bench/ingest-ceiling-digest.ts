/**
 * What a lead ingest left in the CRM and the state store, as counts and digests that two ways of
 * writing the same export must share (bench/ingest-ceiling.ts, test/bench): the persons' mapped
 * values with their account and owner as Marketo keys (CRM ids and stamps left out: they differ by
 * write order and time), the id map (Marketo id → CRM type, and whether each entry points at the
 * person with that Marketo id), the staged persons and keys of the run.
 */
import { escapeIdentifier } from 'pg';
import type pg from 'pg';
import type { BootstrapStaging } from '../activities/bootstrap-staging.js';

export async function ingestDigest(client: pg.ClientBase, crmSchema: string, staging: BootstrapStaging, runId: string): Promise<Record<string, string>> {
  const s = staging.qschema;
  const c = escapeIdentifier(crmSchema);
  const { rows } = await client.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM ${c}.leads) AS leads, (SELECT count(*) FROM ${c}.contacts) AS contacts,
            (SELECT count(*) FROM ${c}.contacts WHERE account_id IS NULL) AS contacts_without_account,
            (SELECT count(*) FROM ${c}.leads WHERE owner_id IS NULL) + (SELECT count(*) FROM ${c}.contacts WHERE owner_id IS NULL) AS persons_without_owner,
            (SELECT count(*) FROM ${c}.leads WHERE origin <> 'sync') + (SELECT count(*) FROM ${c}.contacts WHERE origin <> 'sync') AS not_sync_origin,
            (SELECT count(*) FROM ${s}.id_map WHERE entity = 'lead') AS id_map,
            (SELECT count(*) FROM ${s}.id_map m
               LEFT JOIN ${c}.leads l ON m.crm_type = 'lead' AND l.id = m.crm_id
               LEFT JOIN ${c}.contacts p ON m.crm_type = 'contact' AND p.id = m.crm_id
              WHERE m.entity = 'lead' AND coalesce(l.marketo_lead_id, p.marketo_lead_id)::text = m.marketo_id) AS id_map_pointing_right,
            (SELECT count(*) FROM ${staging.personRefs} WHERE run_id = $1) AS staged_persons,
            (SELECT md5(string_agg(r::text, ',' ORDER BY r.marketo_lead_id)) FROM ${staging.personRefs} r WHERE run_id = $1) AS staged_persons_digest,
            (SELECT count(*) FROM ${staging.keys} WHERE run_id = $1) AS staged_keys,
            (SELECT md5(string_agg(md5(p::text), '' ORDER BY p.marketo_lead_id)) FROM (
               SELECT 'L' AS t, l.marketo_lead_id, (to_jsonb(l) - '{id,created_at,updated_at,origin,owner_id}'::text[]) AS v, u.external_sales_person_id AS owner, NULL AS account
                 FROM ${c}.leads l LEFT JOIN ${c}.users u ON u.id = l.owner_id
               UNION ALL
               SELECT 'C', p.marketo_lead_id, (to_jsonb(p) - '{id,created_at,updated_at,origin,owner_id,account_id}'::text[]), u.external_sales_person_id, a.external_company_id
                 FROM ${c}.contacts p LEFT JOIN ${c}.users u ON u.id = p.owner_id LEFT JOIN ${c}.accounts a ON a.id = p.account_id) p) AS persons_digest,
            (SELECT md5(string_agg(marketo_id || ':' || crm_type, ',' ORDER BY marketo_id)) FROM ${s}.id_map WHERE entity = 'lead') AS id_map_digest`,
    [runId],
  );
  return rows[0]!;
}
