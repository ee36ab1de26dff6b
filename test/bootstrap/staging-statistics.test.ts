import { createSalesActivities } from '../../activities/bootstrap-sales.js';
import { startMarketingServices, type MarketingHarness } from '../marketing/support.js';

// The staging tables grow from empty faster than autovacuum analyzes them, and the keys and links
// lookups planned on an empty table's statistics compare every row with every row. The sales
// steps analyze a staging table that has grown by half since its last analyze, and only then.
// Real Postgres; no Marketo call is made (a link step).
let h: Omit<MarketingHarness, 'taskQueue'>;

beforeAll(async () => {
  h = await startMarketingServices({ seed: { leads: 10, companies: 1, salespersons: 1, opportunities: 0, programs: 0, lists: 0, customObjects: 0 } });
});

afterAll(async () => {
  await h?.close();
});

/** Manual ANALYZEs of a staging table so far (autovacuum's are counted apart). */
async function analyzed(table: string): Promise<number> {
  const { rows } = await h.store.pool.query<{ n: number }>(`SELECT analyze_count::int AS n FROM pg_stat_user_tables WHERE relid = $1::regclass`, [`${h.store.schema}.${table}`]);
  return rows[0]!.n;
}

/** Inserts `n` loaded companies for `runId` and makes the counters visible to other sessions now. */
async function grow(runId: string, from: number, n: number): Promise<void> {
  const client = await h.store.pool.connect();
  try {
    await client.query(
      `INSERT INTO ${h.store.schema}.bootstrap_loaded (run_id, kind, key, crm_id, owner_linked) SELECT $1, 'company', 'EXT-C-' || i, NULL, true FROM generate_series($2::int, $3::int) i`,
      [runId, from, from + n - 1],
    );
    await client.query('SELECT pg_stat_force_next_flush()');
  } finally {
    client.release();
  }
}

test('a link step analyzes a staging table that has grown by half, and not again until it grows again', async () => {
  const sales = createSalesActivities({ marketo: h.marketo, store: h.store, crm: h.crm });
  const step = () => sales.linkSalesReferences({ runId: 'stats', target: 'accountOwners', limit: 100 });
  const before = await analyzed('bootstrap_loaded');
  await grow('stats', 1, 5_000);
  expect((await step()).taken).toBe(0);
  expect(await analyzed('bootstrap_loaded')).toBe(before + 1);

  // Grown by less than half: no second ANALYZE.
  await grow('stats', 5_001, 1_500);
  expect((await step()).taken).toBe(0);
  expect(await analyzed('bootstrap_loaded')).toBe(before + 1);

  // Grown by half again: analyzed again.
  await grow('stats', 6_501, 4_000);
  await step();
  expect(await analyzed('bootstrap_loaded')).toBe(before + 2);
});
