import type pg from 'pg';
import { z } from 'zod';

export const SchemaSystem = z.enum(['marketo', 'crm']);
export type SchemaSystem = z.infer<typeof SchemaSystem>;

export interface CachedSchema {
  system: SchemaSystem;
  object: string;
  describe: unknown;
  fetchedAt: Date;
}

/**
 * Last Describe result per object and system, stored as the plain JSON it came as. Readers parse
 * it with the schema they expect (src/mapping/marketo-schema.ts, src/crm/connector.ts).
 */
export class SchemaCacheRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  async put(system: SchemaSystem, object: string, describe: unknown): Promise<void> {
    SchemaSystem.parse(system);
    z.string().min(1).parse(object);
    await this.pool.query(
      `INSERT INTO ${this.schema}.schema_cache (system, object, describe) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (system, object) DO UPDATE SET describe = EXCLUDED.describe, fetched_at = now()`,
      [system, object, JSON.stringify(describe)],
    );
  }

  async get(system: SchemaSystem, object: string): Promise<CachedSchema | undefined> {
    const { rows } = await this.pool.query(
      `SELECT system, object, describe, fetched_at AS "fetchedAt" FROM ${this.schema}.schema_cache WHERE system = $1 AND object = $2`,
      [system, object],
    );
    return rows[0] as CachedSchema | undefined;
  }

  async list(system: SchemaSystem): Promise<CachedSchema[]> {
    const { rows } = await this.pool.query(
      `SELECT system, object, describe, fetched_at AS "fetchedAt" FROM ${this.schema}.schema_cache WHERE system = $1 ORDER BY object`,
      [system],
    );
    return rows as CachedSchema[];
  }
}
