import type { PreloadKind } from '../workflows/bootstrap-types.js';
import type { LoadOutcome, SalesObjectLoader } from './sales-object-loader.js';

export type { PreloadKind };

export interface ReferencePreloader {
  /**
   * Loads the keys of `kind` that this run has not asked Marketo for yet (Get by external key,
   * 300 a call, written into the CRM and recorded as attempted, found or not), and waits for the
   * ones another batch of this process is loading. Resolves with what this call itself loaded.
   */
  preload(runId: string, kind: PreloadKind, keys: Iterable<string>): Promise<LoadOutcome>;
}

/**
 * Why: a person written before its company and salesperson are in the CRM is written again later
 * by a link step (a whole-row update with its trigger and index work, and one more change in the
 * CRM's change feed). Loading what a batch names just before the batch is written costs the same
 * Marketo calls the companies and salespersons phases would make (each key is asked for once per
 * run, here or there), so the persons go in linked the first time.
 *
 * Several batches (two per download, several downloads) name the same keys at the start of a load:
 * keys in flight are shared within the process, so one Get serves them all.
 */
export function referencePreloader(loader: Pick<SalesObjectLoader, 'staging' | 'loadByKeys'>): ReferencePreloader {
  const inFlight = new Map<string, Promise<void>>();
  const slot = (runId: string, kind: PreloadKind, key: string) => `${runId}\u0000${kind}\u0000${key}`;

  async function attempted(runId: string, kind: PreloadKind, keys: string[]): Promise<Set<string>> {
    const { rows } = await loader.staging.pool.query<{ key: string }>(
      `SELECT key FROM ${loader.staging.loaded} WHERE run_id = $1 AND kind = $2 AND key = ANY($3::text[])`,
      [runId, kind, keys],
    );
    return new Set(rows.map((r) => r.key));
  }

  return {
    async preload(runId, kind, keys) {
      const others: Promise<void>[] = [];
      const candidates: string[] = [];
      for (const key of new Set(keys)) {
        const running = inFlight.get(slot(runId, kind, key));
        if (running) others.push(running);
        else candidates.push(key);
      }
      let loaded: LoadOutcome = { records: 0, written: 0, failed: 0, apiCalls: 0 };
      if (candidates.length > 0) {
        const done = await attempted(runId, kind, candidates);
        const fresh: string[] = [];
        for (const key of candidates) {
          if (done.has(key)) continue;
          // Another batch may have started it while the query ran.
          const running = inFlight.get(slot(runId, kind, key));
          if (running) others.push(running);
          else fresh.push(key);
        }
        if (fresh.length > 0) {
          const load = loader.loadByKeys(runId, kind, fresh);
          const settled = load.then(
            () => undefined,
            () => undefined,
          );
          for (const key of fresh) inFlight.set(slot(runId, kind, key), settled);
          void settled.then(() => {
            for (const key of fresh) if (inFlight.get(slot(runId, kind, key)) === settled) inFlight.delete(slot(runId, kind, key));
          });
          loaded = await load;
        }
      }
      await Promise.all(others);
      return loaded;
    },
  };
}
