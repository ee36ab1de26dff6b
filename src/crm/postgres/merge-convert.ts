import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { z } from 'zod';
import { CrmError, type ConvertLeadRequest, type ConvertLeadResult, type CrmEntityName, type CrmRecord, type MergeResult } from '../connector.js';
import { inTransaction, type WriteOrigin } from './db.js';
import { SYSTEM_COLUMNS } from './entities.js';
import type { TableMeta } from './introspect.js';

export interface MergeContext {
  pool: pg.Pool;
  schema: string;
  origin: WriteOrigin;
  metas: Map<CrmEntityName, TableMeta>;
}

/** Where records of each mergeable entity are referenced from: [entity, column]. */
const REFERENCES: Record<'lead' | 'contact' | 'account', [CrmEntityName, string][]> = {
  lead: [],
  contact: [['opportunityRole', 'contact_id']],
  account: [['contact', 'account_id'], ['opportunity', 'account_id'], ['lead', 'converted_account_id']],
};

/** Columns never copied from a loser into an empty winner field. */
const NOT_INHERITED = new Set([...SYSTEM_COLUMNS, 'is_converted', 'converted_at', 'converted_contact_id', 'converted_account_id']);

function tableOf(ctx: MergeContext, entity: CrmEntityName): TableMeta {
  const meta = ctx.metas.get(entity);
  if (!meta) throw new CrmError('UNKNOWN_ENTITY', `no CRM entity '${entity}'`);
  return meta;
}

function qualified(ctx: MergeContext, meta: TableMeta): string {
  return `${escapeIdentifier(ctx.schema)}.${escapeIdentifier(meta.table)}`;
}

/**
 * Merges losers into the winner in one transaction: an empty winner field takes the first
 * loser's non-empty value ("some value beats no value"), references move to the winner, and the
 * losers are deleted with tombstones that name the winner (`mergedInto`).
 */
export async function mergeRecords(ctx: MergeContext, entity: 'lead' | 'contact' | 'account', winnerId: string, loserIdsIn: readonly string[]): Promise<MergeResult> {
  z.string().min(1).parse(winnerId);
  const loserIds = [...new Set(z.array(z.string().min(1)).parse(loserIdsIn))].filter((id) => id !== winnerId);
  const meta = tableOf(ctx, entity);
  const target = qualified(ctx, meta);
  return inTransaction(
    ctx.pool,
    ctx.origin,
    async (client) => {
      const { rows } = await client.query<{ id: string; rec: CrmRecord }>(
        `SELECT id, to_jsonb(t) AS rec FROM ${target} t WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
        [[winnerId, ...loserIds]],
      );
      const byId = new Map(rows.map((r) => [r.id, r.rec]));
      const winner = byId.get(winnerId);
      if (!winner) throw new CrmError('NOT_FOUND', `no ${entity} with the winner id`);
      const missing = loserIds.filter((id) => !byId.has(id));
      if (missing.length) throw new CrmError('NOT_FOUND', `no ${entity} for ${missing.length} of the loser ids`);
      const fill: CrmRecord = {};
      for (const loserId of loserIds) {
        for (const [k, v] of Object.entries(byId.get(loserId)!)) {
          if (NOT_INHERITED.has(k) || v === null || v === '') continue;
          if ((winner[k] === null || winner[k] === '') && !(k in fill)) fill[k] = v;
        }
      }
      await moveReferences(client, ctx, entity, winnerId, loserIds);
      // Losers go first: unique columns (marketo_lead_id) can then move to the winner.
      await client.query(`DELETE FROM ${target} WHERE id = ANY($1::text[])`, [loserIds]);
      const cols = Object.keys(fill).filter((k) => meta.columns.has(k)).map((k) => escapeIdentifier(k));
      if (cols.length > 0) {
        await client.query(
          `UPDATE ${target} t SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM jsonb_populate_record(NULL::${target}, $1::jsonb) r)
           WHERE t.id = $2`,
          [JSON.stringify(fill), winnerId],
        );
      }
      return { winnerId, mergedIds: loserIds };
    },
    winnerId,
  );
}

async function moveReferences(client: pg.PoolClient, ctx: MergeContext, entity: 'lead' | 'contact' | 'account', winnerId: string, loserIds: string[]): Promise<void> {
  if (entity === 'contact') {
    // A role the winner (or an earlier loser) already has on the same opportunity would collide.
    const roles = qualified(ctx, tableOf(ctx, 'opportunityRole'));
    await client.query(
      `DELETE FROM ${roles} r WHERE r.contact_id = ANY($1::text[]) AND EXISTS (
         SELECT 1 FROM ${roles} o WHERE o.opportunity_id = r.opportunity_id AND o.role = r.role
           AND (o.contact_id = $2 OR (o.contact_id = ANY($1::text[]) AND o.id < r.id)))`,
      [loserIds, winnerId],
    );
  }
  const refs = [...REFERENCES[entity]];
  for (const meta of ctx.metas.values()) {
    if (meta.entity.startsWith('custom:') && meta.columns.has(`${entity}_id`)) refs.push([meta.entity, `${entity}_id`]);
  }
  for (const [refEntity, column] of refs) {
    const meta = tableOf(ctx, refEntity);
    await client.query(`UPDATE ${qualified(ctx, meta)} SET ${escapeIdentifier(column)} = $1 WHERE ${escapeIdentifier(column)} = ANY($2::text[])`, [winnerId, loserIds]);
  }
}

/** Lead columns whose values go to differently named contact columns on conversion. */
const LEAD_TO_CONTACT: Record<string, string> = {
  street: 'mailing_street',
  city: 'mailing_city',
  state: 'mailing_state',
  postal_code: 'mailing_postal_code',
  country: 'mailing_country',
};

/**
 * Converts a lead the way CRMs do: into a new or existing contact, under a new or existing
 * account. The lead stays, flagged converted and pointing at both; its Marketo lead id moves to
 * the contact, so the Marketo person now syncs with the contact. When the target contact already
 * had another Marketo person, `marketoLeadToMerge` says which Marketo lead must be merged away.
 */
export async function convertLead(ctx: MergeContext, request: ConvertLeadRequest): Promise<ConvertLeadResult & { marketoLeadToMerge: string | null }> {
  const req = z
    .object({
      leadId: z.string().min(1),
      accountId: z.string().min(1).optional(),
      newAccount: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
      contactId: z.string().min(1).optional(),
      ownerId: z.string().min(1).optional(),
    })
    .parse(request);
  const leads = tableOf(ctx, 'lead');
  const contacts = tableOf(ctx, 'contact');
  const accounts = tableOf(ctx, 'account');
  return inTransaction(ctx.pool, ctx.origin, async (client) => {
    const leadRows = await client.query<{ rec: CrmRecord }>(`SELECT to_jsonb(t) AS rec FROM ${qualified(ctx, leads)} t WHERE id = $1 FOR UPDATE`, [req.leadId]);
    const lead = leadRows.rows[0]?.rec;
    if (!lead) throw new CrmError('NOT_FOUND', 'no lead with this id');
    if (lead.is_converted) throw new CrmError('ALREADY_CONVERTED', 'the lead is already converted');

    let accountId = req.accountId;
    let createdAccount = false;
    if (accountId) {
      const found = await client.query(`SELECT 1 FROM ${qualified(ctx, accounts)} WHERE id = $1`, [accountId]);
      if (!found.rowCount) throw new CrmError('NOT_FOUND', 'no account with this id');
    } else {
      const fields: CrmRecord = { name: (lead.company as string | null) || [lead.first_name, lead.last_name].filter(Boolean).join(' ') || 'Unknown', ...req.newAccount };
      accountId = await insertRecord(client, ctx, accounts, fields);
      createdAccount = true;
    }

    const ownerId = req.ownerId ?? (lead.owner_id as string | null);
    const fromLead: CrmRecord = {};
    for (const [k, v] of Object.entries(lead)) {
      const column = LEAD_TO_CONTACT[k] ?? k;
      if (NOT_INHERITED.has(k) || k === 'marketo_lead_id' || !contacts.columns.get(column)?.field.updateable) continue;
      fromLead[column] = v;
    }
    let contactId = req.contactId;
    let createdContact = false;
    let marketoLeadToMerge: string | null = null;
    await client.query(`UPDATE ${qualified(ctx, leads)} SET marketo_lead_id = NULL WHERE id = $1`, [req.leadId]);
    if (contactId) {
      const found = await client.query<{ rec: CrmRecord }>(`SELECT to_jsonb(t) AS rec FROM ${qualified(ctx, contacts)} t WHERE id = $1 FOR UPDATE`, [contactId]);
      const contact = found.rows[0]?.rec;
      if (!contact) throw new CrmError('NOT_FOUND', 'no contact with this id');
      const fill: CrmRecord = {};
      for (const [k, v] of Object.entries(fromLead)) if ((contact[k] === null || contact[k] === '') && v !== null) fill[k] = v;
      if (contact.account_id === null) fill.account_id = accountId;
      if (req.ownerId) fill.owner_id = req.ownerId;
      if (contact.marketo_lead_id === null && lead.marketo_lead_id !== null) fill.marketo_lead_id = lead.marketo_lead_id ?? null;
      else if (lead.marketo_lead_id !== null && String(lead.marketo_lead_id) !== String(contact.marketo_lead_id)) marketoLeadToMerge = String(lead.marketo_lead_id);
      await updateRecord(client, ctx, contacts, contactId, fill);
    } else {
      contactId = await insertRecord(client, ctx, contacts, { ...fromLead, account_id: accountId, owner_id: ownerId, marketo_lead_id: lead.marketo_lead_id ?? null });
      createdContact = true;
    }
    await client.query(
      `UPDATE ${qualified(ctx, leads)} SET is_converted = true, converted_at = now(), converted_contact_id = $2, converted_account_id = $3,
         owner_id = coalesce($4, owner_id) WHERE id = $1`,
      [req.leadId, contactId, accountId, req.ownerId ?? null],
    );
    return { leadId: req.leadId, contactId, accountId, createdContact, createdAccount, marketoLeadToMerge };
  });
}

async function insertRecord(client: pg.PoolClient, ctx: MergeContext, meta: TableMeta, record: CrmRecord): Promise<string> {
  const cols = Object.keys(record).filter((k) => meta.columns.get(k)?.field.updateable).map((k) => escapeIdentifier(k));
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${qualified(ctx, meta)} (${cols.join(', ')}) SELECT ${cols.map((c) => `r.${c}`).join(', ')}
     FROM jsonb_populate_record(NULL::${qualified(ctx, meta)}, $1::jsonb) r RETURNING id`,
    [JSON.stringify(record)],
  );
  return rows[0]!.id;
}

async function updateRecord(client: pg.PoolClient, ctx: MergeContext, meta: TableMeta, id: string, record: CrmRecord): Promise<void> {
  const cols = Object.keys(record).filter((k) => meta.columns.get(k)?.field.updateable).map((k) => escapeIdentifier(k));
  if (cols.length === 0) return;
  await client.query(
    `UPDATE ${qualified(ctx, meta)} t SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `r.${c}`).join(', ')}
     FROM jsonb_populate_record(NULL::${qualified(ctx, meta)}, $1::jsonb) r) WHERE t.id = $2`,
    [JSON.stringify(record), id],
  );
}
