import pg from 'pg';
import { escapeIdentifier } from 'pg';
import { z } from 'zod';
import { CycleHistoryRepository } from './cycles.js';
import { ErrorLedgerRepository } from './error-ledger.js';
import { IdMapRepository } from './id-map.js';
import { MappingRepository } from './mappings.js';
import { MergeMapRepository } from './merges.js';
import { runMigrations } from './migrate.js';
import { stateStoreMigrations } from './migrations.js';
import { SchemaCacheRepository } from './schema-cache.js';
import { WatermarkRepository } from './watermarks.js';

export const StateStoreOptions = z.object({
  connectionString: z.string().min(1),
  schema: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/).default('sync_state'),
  poolSize: z.number().int().min(1).max(50).default(4),
});
export type StateStoreOptions = z.input<typeof StateStoreOptions>;

/** The sync's own Postgres state. `open` runs the migrations before anything else touches it. */
export class StateStore {
  readonly watermarks: WatermarkRepository;
  readonly idMap: IdMapRepository;
  readonly schemaCache: SchemaCacheRepository;
  readonly mappings: MappingRepository;
  readonly errors: ErrorLedgerRepository;
  readonly cycles: CycleHistoryRepository;
  readonly merges: MergeMapRepository;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    const s = escapeIdentifier(schema);
    this.watermarks = new WatermarkRepository(pool, s);
    this.idMap = new IdMapRepository(pool, s);
    this.schemaCache = new SchemaCacheRepository(pool, s);
    this.mappings = new MappingRepository(pool, s);
    this.errors = new ErrorLedgerRepository(pool, s);
    this.cycles = new CycleHistoryRepository(pool, s);
    this.merges = new MergeMapRepository(pool, s);
  }

  static async open(options: StateStoreOptions): Promise<StateStore> {
    const opts = StateStoreOptions.parse(options);
    const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.poolSize });
    // Idle connections closed by the server are replaced on next use; see src/crm/postgres/db.ts.
    pool.on('error', () => undefined);
    try {
      await runMigrations(pool, { schema: opts.schema, migrations: stateStoreMigrations });
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new StateStore(pool, opts.schema);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
