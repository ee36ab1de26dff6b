import type { CrmConnector, CrmRecord } from '../crm/connector.js';
import type { MarketoRecord } from '../mapping/apply.js';
import { sameValue } from './compare.js';
import type { MappedPerson, PersonMapping, PersonType } from './person-mapping.js';

export interface Mismatch {
  marketoId: string;
  type: PersonType;
  /** Field names; values only when asked for (`showValues`): they may be PII. */
  fields: string[];
  values?: Record<string, { marketo: unknown; crm: unknown }>;
}

/** Counts are complete; the id lists hold at most `sampleLimit` entries each. */
export interface ReconcileReport {
  entity: string;
  marketoRecords: number;
  crmRecords: number;
  matched: number;
  missing: { count: number; sample: string[] };
  extra: { count: number; sample: string[] };
  duplicates: { count: number; sample: string[] };
  /** The person is in the CRM but as the other type than the routing rule says. */
  misrouted: { count: number; sample: string[] };
  mismatched: { count: number; sample: Mismatch[] };
  ok: boolean;
}

interface Held {
  type: PersonType;
  record: CrmRecord;
}

/**
 * Compares Marketo persons with CRM leads and contacts record by record. The CRM side is read
 * first (every record carrying a Marketo lead id, both types); then each Marketo person is mapped
 * the way the sync maps it and checked field by field; what is left in the CRM is extra.
 * Memory grows with the number of CRM persons (one entry each).
 */
export class PersonReconciler {
  private readonly crmById = new Map<string, Held>();
  /** Second CRM record of a duplicated Marketo id (the other person type). */
  private otherTypes: Map<string, Held> | undefined;
  private readonly seenMarketo = new Set<string>();
  private crmRecords = 0;
  private marketoRecords = 0;
  private matched = 0;
  private readonly missing: string[] = [];
  private readonly duplicates: string[] = [];
  private readonly misrouted: string[] = [];
  private readonly mismatched: Mismatch[] = [];
  private counts = { missing: 0, duplicates: 0, misrouted: 0, mismatched: 0 };

  constructor(
    private readonly mapping: PersonMapping,
    private readonly sampleLimit = 20,
    private readonly showValues = false,
    /** Differing reference fields (account, owner) of a person, compared as Marketo keys by the caller. */
    private readonly refCheck?: (mapped: MappedPerson, crm: CrmRecord) => { field: string; marketo: unknown; crm: unknown }[],
  ) {}

  /** Marketo ids of CRM persons no Marketo row has matched yet (look them up before calling them extra). */
  pendingCrmIds(): string[] {
    return [...this.crmById.keys()];
  }

  async loadCrm(crm: Pick<CrmConnector, 'readChanges'>): Promise<void> {
    const idField = this.mapping.config.leadKey.crmMarketoIdField;
    for (const type of ['lead', 'contact'] as const) {
      let cursor: string | undefined;
      for (;;) {
        const page = await crm.readChanges(type, { includeOwnWrites: true, snapshot: true, limit: 10_000, ...(cursor ? { cursor } : {}) });
        for (const change of page.changes) {
          if (change.kind !== 'upsert') continue;
          const key = change.record[idField];
          if (key === null || key === undefined) continue;
          this.crmRecords += 1;
          const marketoId = String(key);
          const first = this.crmById.get(marketoId);
          if (first) {
            this.note('duplicates', this.duplicates, marketoId);
            (this.otherTypes ??= new Map()).set(marketoId, { type, record: change.record });
          } else this.crmById.set(marketoId, { type, record: change.record });
        }
        cursor = page.cursor;
        if (!page.hasMore) break;
      }
    }
  }

  check(row: MarketoRecord): void {
    const mapped = this.mapping.map(row);
    this.marketoRecords += 1;
    if (this.seenMarketo.has(mapped.marketoId)) return;
    this.seenMarketo.add(mapped.marketoId);
    let held = this.crmById.get(mapped.marketoId);
    // A duplicate already counts once; compare the copy of the routed type so it is not also misrouted.
    const other = this.otherTypes?.get(mapped.marketoId);
    if (held && other && held.type !== mapped.type && other.type === mapped.type) held = other;
    if (!held) {
      this.note('missing', this.missing, mapped.marketoId);
      return;
    }
    this.crmById.delete(mapped.marketoId);
    if (held.type !== mapped.type) {
      this.note('misrouted', this.misrouted, mapped.marketoId);
      return;
    }
    const differing = this.mapping.comparedFields[mapped.type].filter((f) => f in mapped.outcome.record && !sameValue(mapped.outcome.record[f], held.record[f]));
    const refs = this.refCheck?.(mapped, held.record) ?? [];
    if (differing.length > 0 || refs.length > 0) {
      const mismatch: Mismatch = { marketoId: mapped.marketoId, type: mapped.type, fields: [...differing, ...refs.map((r) => r.field)] };
      if (this.showValues) {
        mismatch.values = Object.fromEntries([
          ...differing.map((f) => [f, { marketo: mapped.outcome.record[f], crm: held.record[f] }] as const),
          ...refs.map((r) => [r.field, { marketo: r.marketo, crm: r.crm }] as const),
        ]);
      }
      this.note('mismatched', this.mismatched, mismatch);
    }
    else this.matched += 1;
  }

  report(): ReconcileReport {
    const extra = [...this.crmById.keys()];
    const report: ReconcileReport = {
      entity: 'lead',
      marketoRecords: this.marketoRecords,
      crmRecords: this.crmRecords,
      matched: this.matched,
      missing: { count: this.counts.missing, sample: this.missing },
      extra: { count: extra.length, sample: extra.slice(0, this.sampleLimit) },
      duplicates: { count: this.counts.duplicates, sample: this.duplicates },
      misrouted: { count: this.counts.misrouted, sample: this.misrouted },
      mismatched: { count: this.counts.mismatched, sample: this.mismatched },
      ok: false,
    };
    report.ok = report.missing.count + report.extra.count + report.duplicates.count + report.misrouted.count + report.mismatched.count === 0;
    return report;
  }

  private note<T>(kind: keyof PersonReconciler['counts'], sample: T[], item: T): void {
    this.counts[kind] += 1;
    if (sample.length < this.sampleLimit) sample.push(item);
  }
}
