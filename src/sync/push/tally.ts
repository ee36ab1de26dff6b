import type { RecordReason } from '../../marketo/index.js';
import type { RecordFailure } from '../../store/error-ledger.js';
import type { IdLink } from '../../store/id-map.js';
import type { StateStore } from '../../store/state-store.js';

/**
 * Per-record results of one push step, kept until the step's writes are done and then stored
 * set-based: skipped records go to the error ledger (the batch carries on), successes resolve
 * earlier ledger entries and teach the id map the Marketo ids.
 */
/** Marketo's per-record "Field '%s' not found": the mapping names a field Marketo no longer has. */
export const UNKNOWN_FIELD_CODE = '1006';

export class PushTally {
  readonly failures: RecordFailure[] = [];
  readonly links: IdLink[] = [];
  private readonly succeeded = new Map<string, Set<string>>();
  private readonly unlinks: { entity: string; marketoIds: string[] }[] = [];
  written = 0;
  skipped = 0;
  /** Of the skipped, those Marketo refused for a field it does not have (schema drift since the last Describe). */
  schemaDrift = 0;

  constructor(private readonly operation: string) {}

  ok(entity: string, crmId: string, link?: Omit<IdLink, 'crmId'>): void {
    this.written++;
    const key = entity;
    let set = this.succeeded.get(key);
    if (!set) this.succeeded.set(key, (set = new Set()));
    set.add(crmId);
    if (link) this.links.push({ ...link, crmId });
  }

  fail(entity: string, crmId: string, source: 'marketo' | 'crm', code: string, reason: string): void {
    this.skipped++;
    if (source === 'marketo' && code === UNKNOWN_FIELD_CODE) this.schemaDrift++;
    this.succeeded.get(entity)?.delete(crmId);
    this.failures.push({ entity, recordKey: crmId, operation: this.operation, source, code, reason });
  }

  /** A Marketo skip: the first reason's code, all reasons' messages. */
  skip(entity: string, crmId: string, reasons: readonly RecordReason[]): void {
    const code = reasons[0]?.code ?? 'SKIPPED';
    this.fail(entity, crmId, 'marketo', code, reasons.map((r) => `${r.code}: ${r.message}`).join('; ') || 'skipped without reason');
  }

  unlink(entity: string, marketoIds: string[]): void {
    if (marketoIds.length > 0) this.unlinks.push({ entity, marketoIds });
  }

  async flush(store: Pick<StateStore, 'errors' | 'idMap'>): Promise<void> {
    await store.idMap.link(this.links);
    for (const u of this.unlinks) await store.idMap.unlinkMarketo(u.entity, u.marketoIds);
    await store.errors.record(this.failures);
    const failed = new Set(this.failures.map((f) => `${f.entity}\u0000${f.recordKey}`));
    for (const [entity, ids] of this.succeeded) {
      const resolved = [...ids].filter((id) => !failed.has(`${entity}\u0000${id}`));
      if (resolved.length > 0) await store.errors.resolve(entity, this.operation, resolved);
    }
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
