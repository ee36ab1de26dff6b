/**
 * The activity log, stored by column (a seeded million-lead subscription carries millions of
 * activities). Ids ascend in insertion order; reads go in (activityDate, id) order, which is the
 * order the paging token (date + last id, marketo-api.md §9.3) walks. Attribute arrays are stored
 * by reference, so generated activities share identical attribute lists.
 */
export interface ActivityAttribute {
  name: string;
  value: unknown;
  apiName?: string;
}

export interface ActivityInput {
  leadId: number;
  /** Epoch seconds. */
  date: number;
  typeId: number;
  campaignId?: number;
  primaryAttributeValueId?: number;
  primaryAttributeValue?: string;
  attributes?: ActivityAttribute[];
}

/** An activity as the REST and bulk APIs expose it. */
export interface ActivityRecord {
  id: number;
  marketoGUID: string;
  leadId: number;
  /** Epoch seconds. */
  date: number;
  activityTypeId: number;
  campaignId?: number;
  primaryAttributeValueId?: number;
  primaryAttributeValue?: string;
  attributes: ActivityAttribute[];
}

export interface ActivityFilter {
  typeIds?: ReadonlySet<number>;
  leadIds?: ReadonlySet<number>;
  primaryAttributeValueIds?: ReadonlySet<number>;
}

export interface ScanResult {
  items: ActivityRecord[];
  /** Position of the last activity examined: the next page starts after it. */
  last: { ms: number; id: number } | undefined;
  /** True when unexamined activities remain after `last`. */
  more: boolean;
}

const NONE = -1;

/** The activity log as the state file holds it: one array per column, row = id - 1. */
export interface ActivityLogState {
  leadId: number[];
  date: number[];
  typeId: number[];
  /** -1: none. */
  campaignId: number[];
  primaryAttributeValueId: (number | null)[];
  primaryAttributeValue: (string | null)[];
  attributes: (ActivityAttribute[] | null)[];
}

export class ActivityLog {
  private size = 0;
  private leadIds = new Int32Array(4096);
  private dates = new Uint32Array(4096);
  private typeIds = new Int32Array(4096);
  private campaignIds = new Int32Array(4096);
  private primaryIds = new Float64Array(4096);
  private readonly primaryValues: (string | undefined)[] = [];
  private readonly attributes: (ActivityAttribute[] | undefined)[] = [];
  /** Row permutation in (date, id) order; undefined while rows are already in that order. */
  private order: Int32Array | undefined;
  private orderLen = 0;
  private orderDirty = false;
  /** Bumped by changes that keep the count (merge re-homing); with `count`, tells the state file a save is due. */
  rewrites = 0;

  get count(): number {
    return this.size;
  }

  append(a: ActivityInput): number {
    return this.appendFields(a.leadId, a.date, a.typeId, a.campaignId, a.primaryAttributeValueId, a.primaryAttributeValue, a.attributes);
  }

  /** `append` without an input object (bulk loads). Returns the activity id. */
  appendFields(leadId: number, date: number, typeId: number, campaignId?: number, primaryId?: number, primaryValue?: string, attributes?: ActivityAttribute[]): number {
    const row = this.size;
    if (row === this.dates.length) this.growTo(row * 2);
    this.trackOrder(row, date);
    this.leadIds[row] = leadId;
    this.dates[row] = date;
    this.typeIds[row] = typeId;
    this.campaignIds[row] = campaignId ?? NONE;
    this.primaryIds[row] = primaryId ?? NaN;
    this.primaryValues.push(primaryValue);
    this.attributes.push(attributes && attributes.length ? attributes : undefined);
    this.size += 1;
    return row + 1;
  }

  /**
   * Keeps the (date, id) order cheap: rows appended in date order need no permutation; once one
   * arrives out of order (a clock moved back, a custom activity dated in the past) the
   * permutation is rebuilt once and then extended while appends stay in order.
   */
  private trackOrder(row: number, date: number): void {
    if (this.orderDirty) return;
    if (!this.order) {
      if (row > 0 && date < (this.dates[row - 1] ?? 0)) this.orderDirty = true;
      return;
    }
    const lastRow = this.order[this.orderLen - 1];
    if (lastRow !== undefined && date < (this.dates[lastRow] ?? 0)) {
      this.orderDirty = true;
      return;
    }
    if (this.orderLen === this.order.length) {
      const next = new Int32Array(Math.max(1024, this.order.length * 2));
      next.set(this.order);
      this.order = next;
    }
    this.order[this.orderLen++] = row;
  }

  get(id: number): ActivityRecord | undefined {
    return id >= 1 && id <= this.size ? this.record(id - 1) : undefined;
  }

  /** Re-homes activities of merged-away leads onto the winner. */
  reassignLeads(from: ReadonlySet<number>, to: number): void {
    this.rewrites += 1;
    for (let row = 0; row < this.size; row++) if (from.has(this.leadIds[row] ?? 0)) this.leadIds[row] = to;
  }

  /**
   * Activities strictly after position (ms, id) in (date, id) order that match `filter`, at most
   * `limit` of them, examining at most `scanLimit` rows (a sparse filter returns a short page with
   * `more` set, like Marketo's activity pages).
   */
  scan(after: { ms: number; id: number }, filter: ActivityFilter, limit: number, scanLimit = 100_000, untilMs = Infinity): ScanResult {
    const order = this.sortedOrder();
    let pos = this.lowerBound(order, after);
    const items: ActivityRecord[] = [];
    let last: { ms: number; id: number } | undefined;
    let examined = 0;
    while (pos < this.size && items.length < limit && examined < scanLimit) {
      const row = order ? (order[pos] as number) : pos;
      const ms = (this.dates[row] ?? 0) * 1000;
      if (ms > untilMs) return { items, last, more: false };
      examined += 1;
      pos += 1;
      last = { ms, id: row + 1 };
      if (this.matches(row, filter)) items.push(this.record(row));
    }
    if (pos < this.size) {
      const row = order ? (order[pos] as number) : pos;
      if ((this.dates[row] ?? 0) * 1000 > untilMs) return { items, last, more: false };
    }
    return { items, last, more: pos < this.size };
  }

  /** Activities with startSec <= date < endSec, in date order (bulk activity export). */
  *between(startSec: number, endSec: number, filter: ActivityFilter = {}): Generator<ActivityRecord> {
    const order = this.sortedOrder();
    let pos = this.lowerBound(order, { ms: startSec * 1000 - 1, id: Number.MAX_SAFE_INTEGER });
    for (; pos < this.size; pos++) {
      const row = order ? (order[pos] as number) : pos;
      if ((this.dates[row] ?? 0) >= endSec) return;
      if (this.matches(row, filter)) yield this.record(row);
    }
  }

  private matches(row: number, f: ActivityFilter): boolean {
    if (f.typeIds && !f.typeIds.has(this.typeIds[row] ?? 0)) return false;
    if (f.leadIds && !f.leadIds.has(this.leadIds[row] ?? 0)) return false;
    if (f.primaryAttributeValueIds && !f.primaryAttributeValueIds.has(this.primaryIds[row] ?? NaN)) return false;
    return true;
  }

  private record(row: number): ActivityRecord {
    const rec: ActivityRecord = {
      id: row + 1,
      marketoGUID: String(row + 1),
      leadId: this.leadIds[row] ?? 0,
      date: this.dates[row] ?? 0,
      activityTypeId: this.typeIds[row] ?? 0,
      attributes: this.attributes[row] ?? [],
    };
    const campaign = this.campaignIds[row] ?? NONE;
    if (campaign !== NONE) rec.campaignId = campaign;
    const pid = this.primaryIds[row] ?? NaN;
    if (!Number.isNaN(pid)) rec.primaryAttributeValueId = pid;
    const pv = this.primaryValues[row];
    if (pv !== undefined) rec.primaryAttributeValue = pv;
    return rec;
  }

  /** Everything logged, as plain JSON-able data (the emulator's state file). */
  toState(): ActivityLogState {
    const n = this.size;
    return {
      leadId: Array.from(this.leadIds.subarray(0, n)),
      date: Array.from(this.dates.subarray(0, n)),
      typeId: Array.from(this.typeIds.subarray(0, n)),
      campaignId: Array.from(this.campaignIds.subarray(0, n)),
      primaryAttributeValueId: Array.from(this.primaryIds.subarray(0, n), (v) => (Number.isNaN(v) ? null : v)),
      primaryAttributeValue: this.primaryValues.slice(0, n).map((v) => v ?? null),
      attributes: this.attributes.slice(0, n).map((v) => v ?? null),
    };
  }

  /** Replaces the log with `state` (validated by the caller); ids stay row + 1. */
  loadState(state: ActivityLogState): void {
    const n = state.leadId.length;
    for (const [name, arr] of Object.entries(state)) {
      if ((arr as unknown[]).length !== n) throw new Error(`activities.${name} holds ${(arr as unknown[]).length} values for ${n} activities`);
    }
    this.size = 0;
    this.primaryValues.length = 0;
    this.attributes.length = 0;
    this.order = undefined;
    this.orderLen = 0;
    this.orderDirty = false;
    this.growTo(Math.max(this.dates.length, n));
    for (let row = 0; row < n; row++) {
      const pid = state.primaryAttributeValueId[row];
      const campaign = state.campaignId[row] as number;
      this.appendFields(
        state.leadId[row] as number, state.date[row] as number, state.typeId[row] as number,
        campaign === NONE ? undefined : campaign, pid === null || pid === undefined ? undefined : pid,
        state.primaryAttributeValue[row] ?? undefined, state.attributes[row] ?? undefined,
      );
    }
    this.rewrites += 1;
  }

  /** First position whose (date, id) is strictly greater than `after`. */
  private lowerBound(order: Int32Array | undefined, after: { ms: number; id: number }): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = order ? (order[mid] as number) : mid;
      const ms = (this.dates[row] ?? 0) * 1000;
      const greater = ms > after.ms || (ms === after.ms && row + 1 > after.id);
      if (greater) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private sortedOrder(): Int32Array | undefined {
    if (!this.orderDirty) return this.order;
    const order = new Int32Array(Math.max(1024, this.size * 2));
    for (let i = 0; i < this.size; i++) order[i] = i;
    const dates = this.dates;
    order.subarray(0, this.size).sort((a, b) => (dates[a] ?? 0) - (dates[b] ?? 0) || a - b);
    this.order = order;
    this.orderLen = this.size;
    this.orderDirty = false;
    return order;
  }

  private growTo(n: number): void {
    const g = <T extends Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const next = make(n);
      next.set(a);
      return next;
    };
    this.leadIds = g(this.leadIds, (k) => new Int32Array(k));
    this.dates = g(this.dates, (k) => new Uint32Array(k));
    this.typeIds = g(this.typeIds, (k) => new Int32Array(k));
    this.campaignIds = g(this.campaignIds, (k) => new Int32Array(k));
    this.primaryIds = g(this.primaryIds, (k) => new Float64Array(k));
  }
}
