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

const UNIQUE_VIOLATION = '23505';

const UPSERT_LINKS = (schema: string) =>
  `INSERT INTO ${schema}.id_map (entity, marketo_id, crm_type, crm_id)
   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
   ON CONFLICT (entity, marketo_id) DO UPDATE SET crm_type = EXCLUDED.crm_type, crm_id = EXCLUDED.crm_id, updated_at = now()`;

/** The Marketo-id ⇄ CRM-id map. One CRM record per Marketo record and entity, and vice versa. */
export class IdMapRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  /**
   * Set-based: links many pairs at once. A link replaces any earlier link of the same Marketo
   * record and of the same CRM record (after merges and conversions a record changes partner);
   * within one call the last link of a record wins.
   */
  async link(links: readonly IdLink[]): Promise<void> {
    if (links.length === 0) return;
    const byMarketo = new Map<string, IdLink>();
    for (const l of links.map((x) => IdLink.parse(x))) byMarketo.set(`${l.entity}\u0000${l.marketoId}`, l);
    const byCrm = new Map<string, IdLink>();
    for (const l of byMarketo.values()) byCrm.set(`${l.entity}\u0000${l.crmType}\u0000${l.crmId}`, l);
    const parsed = [...byCrm.values()];
    const params = [parsed.map((l) => l.entity), parsed.map((l) => l.marketoId), parsed.map((l) => l.crmType), parsed.map((l) => l.crmId)];
    // Usually no CRM record changes partner (a bootstrap links new records): one statement does it.
    // A CRM record still linked to another Marketo record breaks (entity, crm_type, crm_id)'s
    // uniqueness, and only then the old links are removed first, in one transaction.
    try {
      await this.pool.query(UPSERT_LINKS(this.schema), params);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `DELETE FROM ${this.schema}.id_map m USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(entity, marketo_id, crm_type, crm_id)
         WHERE m.entity = u.entity AND m.crm_type = u.crm_type AND m.crm_id = u.crm_id AND m.marketo_id <> u.marketo_id`,
        params,
      );
      await client.query(UPSERT_LINKS(this.schema), params);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
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
