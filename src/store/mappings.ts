import type pg from 'pg';
import { MappingConfig } from '../mapping/mapping-config.js';

export interface StoredMapping {
  version: number;
  config: MappingConfig;
  author: string | null;
  comment: string | null;
  warnings: string[];
  createdAt: Date;
}

/**
 * Versioned mappings: every save is a new version, the newest is current. Saving does not
 * validate against schemas (that needs Describe results): callers validate first, see
 * src/mapping/mapping-file.ts.
 */
export class MappingRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  async save(config: MappingConfig, meta: { author?: string; comment?: string; warnings?: readonly string[] } = {}): Promise<number> {
    const parsed = MappingConfig.parse(config);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Concurrent savers queue up instead of both taking the same version number.
      await client.query(`LOCK TABLE ${this.schema}.mappings IN SHARE ROW EXCLUSIVE MODE`);
      const { rows } = await client.query<{ version: number }>(
        `INSERT INTO ${this.schema}.mappings (version, config, author, comment, warnings)
         SELECT coalesce(max(version), 0) + 1, $1::jsonb, $2, $3, $4::jsonb FROM ${this.schema}.mappings RETURNING version`,
        [JSON.stringify(parsed), meta.author ?? null, meta.comment ?? null, JSON.stringify(meta.warnings ?? [])],
      );
      await client.query('COMMIT');
      return rows[0]!.version;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async current(): Promise<StoredMapping | undefined> {
    return this.get();
  }

  async get(version?: number): Promise<StoredMapping | undefined> {
    const { rows } = await this.pool.query(
      `SELECT version, config, author, comment, warnings, created_at AS "createdAt" FROM ${this.schema}.mappings
       WHERE ($1::int IS NULL OR version = $1) ORDER BY version DESC LIMIT 1`,
      [version ?? null],
    );
    const row = rows[0] as (Omit<StoredMapping, 'config'> & { config: unknown }) | undefined;
    return row ? { ...row, config: MappingConfig.parse(row.config) } : undefined;
  }

  async versions(): Promise<{ version: number; author: string | null; comment: string | null; createdAt: Date }[]> {
    const { rows } = await this.pool.query(
      `SELECT version, author, comment, created_at AS "createdAt" FROM ${this.schema}.mappings ORDER BY version DESC`,
    );
    return rows as { version: number; author: string | null; comment: string | null; createdAt: Date }[];
  }
}
