import type pg from 'pg';
import { escapeIdentifier } from 'pg';

export interface Migration {
  /** Positive, strictly increasing; never renumber a shipped migration. */
  id: number;
  name: string;
  sql: string;
}

export interface MigrationTarget {
  /** Schema that holds both the migrated objects and the `schema_migrations` ledger. */
  schema: string;
  migrations: readonly Migration[];
}

/**
 * Applies the migrations not yet recorded, each in its own transaction. A transaction-level
 * advisory lock keyed on the schema name serialises concurrent starters: the second one waits,
 * then sees the first one's rows in `schema_migrations` and applies nothing twice.
 * Returns the ids applied by this call.
 */
export async function runMigrations(pool: pg.Pool, target: MigrationTarget): Promise<number[]> {
  checkOrder(target.migrations);
  const schema = escapeIdentifier(target.schema);
  const applied: number[] = [];
  const client = await pool.connect();
  try {
    for (const migration of target.migrations) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`migrations:${target.schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
             id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const done = await client.query('SELECT 1 FROM ' + schema + '.schema_migrations WHERE id = $1', [migration.id]);
        if (done.rowCount === 0) {
          await client.query(`SET LOCAL search_path TO ${schema}, public`);
          await client.query(migration.sql);
          await client.query(`INSERT INTO ${schema}.schema_migrations (id, name) VALUES ($1, $2)`, [migration.id, migration.name]);
          applied.push(migration.id);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.id} (${migration.name}) in schema ${target.schema} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    client.release();
  }
  return applied;
}

function checkOrder(migrations: readonly Migration[]): void {
  let last = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.id) || m.id <= last) throw new Error(`migration ids must be positive and increasing: ${m.id} after ${last}`);
    last = m.id;
  }
}
