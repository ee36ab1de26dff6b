import type pg from 'pg';
import { z } from 'zod';

const System = z.enum(['marketo', 'crm']);

/** Losing → winning record ids of merges, so late changes addressed to a loser reach the winner. */
export class MergeMapRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  async record(system: 'marketo' | 'crm', winnerId: string, loserIds: readonly string[]): Promise<void> {
    System.parse(system);
    const losers = z.array(z.string().min(1)).parse(loserIds).filter((l) => l !== winnerId);
    if (losers.length === 0) return;
    // Earlier merges whose winner now lost point straight at the new winner, so lookups stay one hop.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE ${this.schema}.lead_merges SET winner_id = $2 WHERE system = $3 AND winner_id = ANY($1::text[])`,
        [losers, winnerId, system],
      );
      await client.query(
        `INSERT INTO ${this.schema}.lead_merges (system, loser_id, winner_id) SELECT $3, l, $2 FROM unnest($1::text[]) AS l
         ON CONFLICT (system, loser_id) DO UPDATE SET winner_id = EXCLUDED.winner_id, merged_at = now()`,
        [losers, winnerId, system],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  /** Current winner for each id that lost a merge; ids that never lost are absent. */
  async winners(system: 'marketo' | 'crm', ids: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query(
      `SELECT loser_id AS loser, winner_id AS winner FROM ${this.schema}.lead_merges WHERE system = $1 AND loser_id = ANY($2::text[])`,
      [System.parse(system), ids],
    );
    return new Map((rows as { loser: string; winner: string }[]).map((r) => [r.loser, r.winner]));
  }
}
