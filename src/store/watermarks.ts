import type pg from 'pg';
import { z } from 'zod';

export const Watermark = z.object({
  stream: z.string().min(1),
  watermark: z.date().nullable(),
  cursor: z.string().nullable(),
  updatedAt: z.date(),
});
export type Watermark = z.infer<typeof Watermark>;

/** High watermarks per stream (e.g. `marketo:leads`, `crm:contact`): a time and/or an opaque cursor. */
export class WatermarkRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  async get(stream: string): Promise<Watermark | undefined> {
    const { rows } = await this.pool.query(
      `SELECT stream, watermark, cursor, updated_at AS "updatedAt" FROM ${this.schema}.watermarks WHERE stream = $1`,
      [stream],
    );
    return rows[0] ? Watermark.parse(rows[0]) : undefined;
  }

  /**
   * Moves a stream's watermark. Call it only after the data it covers is durably written;
   * `watermark` never moves backwards (a late writer cannot undo a newer position).
   */
  async set(stream: string, position: { watermark?: Date | null; cursor?: string | null }): Promise<void> {
    z.string().min(1).parse(stream);
    await this.pool.query(
      `INSERT INTO ${this.schema}.watermarks (stream, watermark, cursor) VALUES ($1, $2, $3)
       ON CONFLICT (stream) DO UPDATE SET
         watermark = GREATEST(watermarks.watermark, EXCLUDED.watermark),
         cursor = CASE WHEN watermarks.watermark IS NOT NULL AND EXCLUDED.watermark < watermarks.watermark
                       THEN watermarks.cursor ELSE EXCLUDED.cursor END,
         updated_at = now()`,
      [stream, position.watermark ?? null, position.cursor ?? null],
    );
  }

  async list(): Promise<Watermark[]> {
    const { rows } = await this.pool.query(
      `SELECT stream, watermark, cursor, updated_at AS "updatedAt" FROM ${this.schema}.watermarks ORDER BY stream`,
    );
    return rows.map((r) => Watermark.parse(r));
  }
}
