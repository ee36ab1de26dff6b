import pg, { escapeLiteral } from 'pg';

/** Who a connector's writes are attributed to; the sync uses 'sync' so it can ignore its own echoes. */
export type WriteOrigin = 'sync' | 'user';

// Dates and timestamps stay strings: JS Date would drop microseconds (cursors need them) and
// shift DATE values by the local zone.
const RAW = (value: string) => value;
const RAW_OIDS = new Set([1082, 1114, 1184]);
const typeOverrides: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_OIDS.has(oid) ? RAW : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export function createPool(connectionString: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: typeOverrides, options: '-c TimeZone=UTC' });
  // An idle connection killed by the server (restart, admin command) must not crash the process:
  // the pool drops it and the next query opens a new one; errors of queries still reach callers.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction whose writes the triggers attribute to `origin`. */
export async function inTransaction<T>(pool: pg.Pool, origin: WriteOrigin, fn: (client: pg.PoolClient) => Promise<T>, mergedInto?: string): Promise<T> {
  const client = await pool.connect();
  try {
    // One round trip: a parameterless query travels by the simple protocol, which takes several statements.
    await client.query(`BEGIN; SELECT set_config('crmsync.origin', ${escapeLiteral(origin)}, true), set_config('crmsync.merged_into', ${escapeLiteral(mergedInto ?? '')}, true)`);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
