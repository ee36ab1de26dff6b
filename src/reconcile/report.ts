import type { CrmValue } from '../crm/connector.js';

/** A record whose mapped fields differ. Values only when the operator asked for them (PII). */
export interface FieldMismatch {
  key: string;
  fields: string[];
  values?: Record<string, { marketo: unknown; crm: CrmValue | undefined }>;
}

/** Several records on one side claim the same key. */
export interface Duplicate {
  key: string;
  side: 'marketo' | 'crm';
  /** Record ids on that side (CRM ids, or Marketo ids/GUIDs). */
  ids: string[];
}

export interface Tally<T> {
  count: number;
  /** At most `sample` entries (the option); the count is always complete. */
  sample: T[];
}

/**
 * One entity's comparison. `marketo`/`crm` count records on each side within the compared scope;
 * `matched` records exist on both sides with equal mapped fields.
 */
export interface EntityReport {
  entity: string;
  marketo: number;
  crm: number;
  matched: number;
  missingInCrm: Tally<string>;
  missingInMarketo: Tally<string>;
  mismatched: Tally<FieldMismatch>;
  duplicates: Tally<Duplicate>;
  /** Marketo API calls this entity's comparison made (token requests excluded). */
  apiCalls: number;
  /** How the Marketo side was found and what lies outside the compared scope. */
  notes: string[];
  /** Per-type counts (activities: type id → counts on each side). */
  breakdown?: Record<string, { marketo: number; crm: number }>;
  differences: number;
  ok: boolean;
}

export function tally<T>(): Tally<T> {
  return { count: 0, sample: [] };
}

export function note<T>(t: Tally<T>, item: T, limit: number): void {
  t.count += 1;
  if (t.sample.length < limit) t.sample.push(item);
}

export function emptyReport(entity: string): EntityReport {
  return {
    entity,
    marketo: 0,
    crm: 0,
    matched: 0,
    missingInCrm: tally(),
    missingInMarketo: tally(),
    mismatched: tally(),
    duplicates: tally(),
    apiCalls: 0,
    notes: [],
    differences: 0,
    ok: true,
  };
}

export function finish(report: EntityReport): EntityReport {
  report.differences = report.missingInCrm.count + report.missingInMarketo.count + report.mismatched.count + report.duplicates.count;
  report.ok = report.differences === 0;
  return report;
}

/**
 * Compares two keyed record sets. Records are added per side under their key; a key held by
 * several records of one side is a duplicate (the first is still compared, so one extra record
 * does not also show as missing). `compare` names the differing fields.
 */
export class KeyedComparison<M, C> {
  private readonly marketo = new Map<string, { id: string; record: M }[]>();
  private readonly crm = new Map<string, { id: string; record: C }[]>();

  constructor(
    readonly report: EntityReport,
    private readonly sample: number,
  ) {}

  addMarketo(key: string, id: string, record: M): void {
    const list = this.marketo.get(key);
    if (list) list.push({ id, record });
    else this.marketo.set(key, [{ id, record }]);
  }

  addCrm(key: string, id: string, record: C): void {
    const list = this.crm.get(key);
    if (list) list.push({ id, record });
    else this.crm.set(key, [{ id, record }]);
  }

  hasMarketo(key: string): boolean {
    return this.marketo.has(key);
  }

  crmKeys(): IterableIterator<string> {
    return this.crm.keys();
  }

  crmRecord(key: string): C | undefined {
    return this.crm.get(key)?.[0]?.record;
  }

  /** Runs the comparison; `compare` returns the differing fields (and their values when asked). */
  run(compare: (m: M, c: C, key: string) => FieldMismatch | undefined): EntityReport {
    const r = this.report;
    r.marketo = [...this.marketo.values()].reduce((n, l) => n + l.length, 0);
    r.crm = [...this.crm.values()].reduce((n, l) => n + l.length, 0);
    for (const [key, list] of this.marketo) {
      if (list.length > 1) note(r.duplicates, { key, side: 'marketo', ids: list.map((x) => x.id) }, this.sample);
    }
    for (const [key, list] of this.crm) {
      if (list.length > 1) note(r.duplicates, { key, side: 'crm', ids: list.map((x) => x.id) }, this.sample);
      if (!this.marketo.has(key)) note(r.missingInMarketo, key, this.sample);
    }
    for (const [key, list] of this.marketo) {
      const held = this.crm.get(key)?.[0];
      if (!held) {
        note(r.missingInCrm, key, this.sample);
        continue;
      }
      const diff = compare(list[0]!.record, held.record, key);
      if (diff) note(r.mismatched, diff, this.sample);
      else r.matched += 1;
    }
    return finish(r);
  }
}
