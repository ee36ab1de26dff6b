import type pg from 'pg';
import { z } from 'zod';

export const IdLink = z.object({
  entity: z.string().min(1),
  marketoId: z.string().min(1),
  /** CRM record type: `lead` or `contact` for Marketo leads, the CRM entity otherwise. */
  crmType: z.string().min(1),
  crmId: z.string().min(1),
});
export type IdLink = z.infer<typeof IdLink>;

/** The Marketo-id ⇄ CRM-id map. One CRM record per Marketo record and entity, and vice versa. */
export class IdMapRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  /** Set-based: links many pairs in one statement; an existing link for the Marketo id is replaced. */
  async link(links: readonly IdLink[]): Promise<void> {
    if (links.length === 0) return;
    const parsed = links.map((l) => IdLink.parse(l));
    await this.pool.query(
      `INSERT INTO ${this.schema}.id_map (entity, marketo_id, crm_type, crm_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT (entity, marketo_id) DO UPDATE SET crm_type = EXCLUDED.crm_type, crm_id = EXCLUDED.crm_id, updated_at = now()`,
      [parsed.map((l) => l.entity), parsed.map((l) => l.marketoId), parsed.map((l) => l.crmType), parsed.map((l) => l.crmId)],
    );
  }

  async byMarketoIds(entity: string, marketoIds: readonly string[]): Promise<Map<string, IdLink>> {
    const { rows } = await this.pool.query(
      `SELECT entity, marketo_id AS "marketoId", crm_type AS "crmType", crm_id AS "crmId"
       FROM ${this.schema}.id_map WHERE entity = $1 AND marketo_id = ANY($2::text[])`,
      [entity, marketoIds],
    );
    return new Map(rows.map((r) => { const l = IdLink.parse(r); return [l.marketoId, l] as const; }));
  }

  async byCrmIds(entity: string, crmType: string, crmIds: readonly string[]): Promise<Map<string, IdLink>> {
    const { rows } = await this.pool.query(
      `SELECT entity, marketo_id AS "marketoId", crm_type AS "crmType", crm_id AS "crmId"
       FROM ${this.schema}.id_map WHERE entity = $1 AND crm_type = $2 AND crm_id = ANY($3::text[])`,
      [entity, crmType, crmIds],
    );
    return new Map(rows.map((r) => { const l = IdLink.parse(r); return [l.crmId, l] as const; }));
  }

  async unlinkMarketo(entity: string, marketoIds: readonly string[]): Promise<number> {
    const res = await this.pool.query(`DELETE FROM ${this.schema}.id_map WHERE entity = $1 AND marketo_id = ANY($2::text[])`, [entity, marketoIds]);
    return res.rowCount ?? 0;
  }

  async unlinkCrm(entity: string, crmType: string, crmIds: readonly string[]): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM ${this.schema}.id_map WHERE entity = $1 AND crm_type = $2 AND crm_id = ANY($3::text[])`,
      [entity, crmType, crmIds],
    );
    return res.rowCount ?? 0;
  }
}
