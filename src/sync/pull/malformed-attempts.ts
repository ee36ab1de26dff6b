import { z } from 'zod';
import type { ErrorLedgerRepository, RecordFailure } from '../../store/error-ledger.js';
import type { StateStore } from '../../store/state-store.js';
import type { StreamPosition } from './position.js';

/** Ledger keys of the malformed export lines recorded by the bulk reads from one stored position. */
export const MALFORMED_ATTEMPTS_STREAM = 'marketo:pull:malformed-attempts';

const Attempts = z.strictObject({ v: z.literal(1), position: z.string().min(1), keys: z.array(z.string().min(1)) });

/** Names a stored stream position exactly: a retry of a step that did not move it reads from the same one. */
export function positionIdentity(position: StreamPosition & { readAt: Date }): string {
  return [position.at.toISOString(), position.readAt.toISOString(), position.token ?? '', position.ids.join(',')].join(' ');
}

/**
 * A malformed line's ledger entry is keyed by the export that held it, and a step retried after
 * some of its writes (a failed batch, a crash before the watermark moved) reads the same range
 * through a new export: its damaged lines would get a second entry each, next to the first
 * attempt's. The keys every attempt from one position recorded are kept here (written before the
 * entries, so a crash in between forgets none); once an attempt has read the whole range, the
 * earlier attempts' entries it did not record again are resolved as superseded by it. A position
 * that moved on starts afresh: the entries of a range the loop finished stay as they are.
 */
export class MalformedAttempts {
  private readonly earlier: ReadonlySet<string>;
  private readonly current = new Set<string>();

  private constructor(
    private readonly store: Pick<StateStore, 'watermarks'>,
    private readonly position: string,
    earlier: readonly string[],
  ) {
    this.earlier = new Set(earlier);
  }

  static async begin(store: Pick<StateStore, 'watermarks'>, position: string): Promise<MalformedAttempts> {
    const row = await store.watermarks.get(MALFORMED_ATTEMPTS_STREAM);
    if (!row?.cursor) return new MalformedAttempts(store, position, []);
    const parsed = Attempts.safeParse(JSON.parse(row.cursor));
    if (!parsed.success) throw new Error(`${MALFORMED_ATTEMPTS_STREAM} holds state the pull cannot read: ${z.prettifyError(parsed.error)}`);
    return new MalformedAttempts(store, position, parsed.data.position === position ? parsed.data.keys : []);
  }

  /** Called before the entries are recorded. */
  async remember(entries: readonly RecordFailure[]): Promise<void> {
    const before = this.current.size;
    for (const e of entries) this.current.add(e.recordKey);
    if (this.current.size > before) await this.save([...this.earlier, ...this.current]);
  }

  /**
   * After this attempt read the whole range: earlier attempts' entries it did not record again
   * are resolved, their reason naming why. Returns how many.
   */
  async supersede(ledger: Pick<ErrorLedgerRepository, 'record' | 'resolveRecords'>, operation: string, entity: string): Promise<number> {
    const stale = [...this.earlier].filter((k) => !this.current.has(k));
    if (stale.length > 0) {
      const reason = 'superseded: the step was retried from the same position and read the range again through a new export; its entries stand for this line';
      await ledger.record(stale.map((recordKey) => ({ entity, recordKey, operation, source: 'marketo', code: 'MALFORMED_ROW', reason })));
      await ledger.resolveRecords(operation, stale.map((recordKey) => ({ entity, recordKey })));
    }
    if (stale.length > 0 || this.earlier.size > 0) await this.save([...this.current]);
    return stale.length;
  }

  private async save(keys: string[]): Promise<void> {
    await this.store.watermarks.set(MALFORMED_ATTEMPTS_STREAM, { cursor: JSON.stringify(Attempts.parse({ v: 1, position: this.position, keys })) });
  }
}
