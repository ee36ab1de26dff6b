/**
 * Leads stored by column so a million seeded leads fit in a few hundred MB: the row of lead `id`
 * is `id - 1` (ids are never reused), timestamps are epoch seconds in typed arrays, and each
 * field is one plain array holding only that field's values (seeded strings from small pools are
 * shared references). Lookup indexes are built on first use and maintained after that.
 */
export type LeadValue = string | number | boolean | null;

/** A lead as handlers see it: every non-null field plus id and epoch-second timestamps. */
export interface LeadRecord {
  id: number;
  createdAt: number;
  updatedAt: number;
  partitionId: number;
  values: Record<string, LeadValue>;
}

function grow<T extends Uint32Array | Uint8Array | Uint16Array>(arr: T, needed: number, make: (n: number) => T): T {
  if (needed <= arr.length) return arr;
  const next = make(Math.max(needed, arr.length * 2, 1024));
  next.set(arr);
  return next;
}

const EMPTY: Record<string, LeadValue> = {};

/** The lead store as the state file holds it: per-lead arrays indexed by `id - 1`. */
export interface LeadStoreState {
  /** Highest id ever assigned (ids are never reused). */
  size: number;
  /** Deleted (or merged-away) lead ids. */
  dead: number[];
  createdAt: number[];
  updatedAt: number[];
  partitionId: number[];
  columns: Record<string, LeadValue[]>;
}

export class LeadStore {
  private size = 0;
  private alive = new Uint8Array(1024);
  private created = new Uint32Array(1024);
  private updated = new Uint32Array(1024);
  private partition = new Uint16Array(1024);
  private readonly columns = new Map<string, LeadValue[]>();
  private readonly indexes = new Map<string, Map<string, number | number[]>>();
  private liveCount = 0;
  /** Bumped whenever a column array is added or replaced, so readers holding arrays know to look again. */
  private columnsVersion = 0;
  /** Bumped by every write: the state file saves only after a call that changed something. */
  mutations = 0;

  /** Highest id ever assigned. */
  get maxId(): number {
    return this.size;
  }

  get count(): number {
    return this.liveCount;
  }

  exists(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.size && this.alive[id - 1] === 1;
  }

  /** Appends a lead and returns its id. `values` must already be validated and normalised. */
  insert(values: Record<string, LeadValue>, createdAt: number, partitionId = 1): number {
    const row = this.size;
    this.size += 1;
    this.mutations += 1;
    this.alive = grow(this.alive, this.size, (n) => new Uint8Array(n));
    this.created = grow(this.created, this.size, (n) => new Uint32Array(n));
    this.updated = grow(this.updated, this.size, (n) => new Uint32Array(n));
    this.partition = grow(this.partition, this.size, (n) => new Uint16Array(n));
    this.alive[row] = 1;
    this.created[row] = createdAt;
    this.updated[row] = createdAt;
    this.partition[row] = partitionId;
    this.liveCount += 1;
    if (values !== EMPTY) {
      for (const [field, value] of Object.entries(values)) {
        if (value !== null) this.setValue(row + 1, field, value);
      }
    }
    return row + 1;
  }

  /**
   * Fast path for bulk loads (seed): returns a writer bound to `fields` that appends one lead per
   * call, `values[i]` being the value of `fields[i]` (the array may be reused between calls).
   */
  rowWriter(fields: readonly string[]): (values: readonly LeadValue[], createdAt: number, partitionId?: number) => number {
    const cols = fields.map((f) => {
      let col = this.columns.get(f);
      if (!col) {
        col = [];
        this.columns.set(f, col);
        this.columnsVersion += 1;
      }
      return col;
    });
    const indexed = fields.some((f) => this.indexes.has(f));
    return (values, createdAt, partitionId = 1) => {
      const id = this.insert(EMPTY, createdAt, partitionId);
      const row = id - 1;
      for (let i = 0; i < cols.length; i++) {
        const v = values[i];
        if (v === undefined || v === null) continue;
        if (indexed) {
          this.setValue(id, fields[i] as string, v);
          continue;
        }
        const col = cols[i] as LeadValue[];
        while (col.length < row) col.push(null);
        col[row] = v;
      }
      return id;
    };
  }

  /** Drops the spare capacity arrays keep after growing (called after bulk loads). */
  compact(): void {
    for (const [field, col] of this.columns) this.columns.set(field, col.slice());
    this.columnsVersion += 1;
  }

  get(id: number): LeadRecord | undefined {
    if (!this.exists(id)) return undefined;
    const row = id - 1;
    const values: Record<string, LeadValue> = {};
    for (const [field, col] of this.columns) {
      const v = col[row];
      if (v !== undefined && v !== null) values[field] = v;
    }
    return { id, createdAt: this.created[row] ?? 0, updatedAt: this.updated[row] ?? 0, partitionId: this.partition[row] ?? 1, values };
  }

  value(id: number, field: string): LeadValue {
    if (field === 'id') return id;
    const v = this.columns.get(field)?.[id - 1];
    return v === undefined ? null : v;
  }

  /**
   * Reads one stored field of many leads: `read(id)` is `value(id, field)` without the per-call
   * column lookup (bulk exports read millions of cells). Stays right when the column is created
   * or replaced later.
   */
  columnReader(field: string): (id: number) => LeadValue {
    if (field === 'id') return (id) => id;
    let version = -1;
    let col: readonly LeadValue[] | undefined;
    return (id) => {
      if (version !== this.columnsVersion) {
        col = this.columns.get(field);
        version = this.columnsVersion;
      }
      const v = col?.[id - 1];
      return v === undefined ? null : v;
    };
  }

  createdAt(id: number): number {
    return this.created[id - 1] ?? 0;
  }

  updatedAt(id: number): number {
    return this.updated[id - 1] ?? 0;
  }

  partitionOf(id: number): number {
    return this.partition[id - 1] ?? 1;
  }

  setPartition(id: number, partitionId: number): void {
    this.mutations += 1;
    this.partition[id - 1] = partitionId;
  }

  touch(id: number, at: number): void {
    this.mutations += 1;
    this.updated[id - 1] = at;
  }

  setValue(id: number, field: string, value: LeadValue): void {
    this.mutations += 1;
    let col = this.columns.get(field);
    if (!col) {
      col = [];
      this.columns.set(field, col);
      this.columnsVersion += 1;
    }
    const row = id - 1;
    const index = this.indexes.get(field);
    if (index) {
      const old = col[row];
      if (old !== undefined && old !== null) removeFromIndex(index, indexKey(old), id);
      if (value !== null) addToIndex(index, indexKey(value), id);
    }
    // Fill holes with null so the array stays packed (holey arrays are slower and larger).
    while (col.length < row) col.push(null);
    col[row] = value;
  }

  delete(id: number): void {
    if (!this.exists(id)) return;
    this.mutations += 1;
    const row = id - 1;
    for (const [field, index] of this.indexes) {
      const v = this.columns.get(field)?.[row];
      if (v !== undefined && v !== null) removeFromIndex(index, indexKey(v), id);
    }
    this.alive[row] = 0;
    this.liveCount -= 1;
  }

  /** Ids of live leads whose `field` equals `value` (emails compare case-insensitively). */
  find(field: string, value: string | number): number[] {
    if (field === 'id') {
      const id = Number(value);
      return this.exists(id) ? [id] : [];
    }
    const hit = this.index(field).get(indexKey(value));
    if (hit === undefined) return [];
    return typeof hit === 'number' ? [hit] : [...hit];
  }

  /** Live ids in ascending order. */
  *ids(fromId = 1): Generator<number> {
    for (let row = Math.max(0, fromId - 1); row < this.size; row++) if (this.alive[row] === 1) yield row + 1;
  }

  /**
   * Live ids in ascending order whose createdAt (or updatedAt) lies in [start, end] (epoch seconds,
   * both inclusive); leads added while the caller iterates are seen.
   */
  *idsBetween(which: 'createdAt' | 'updatedAt', start: number, end: number): Generator<number> {
    for (let row = 0; row < this.size; row++) {
      if (this.alive[row] !== 1) continue;
      const t = (which === 'createdAt' ? this.created : this.updated)[row] as number;
      if (t >= start && t <= end) yield row + 1;
    }
  }

  /** Everything stored, as plain JSON-able data (the emulator's state file). */
  toState(): LeadStoreState {
    const columns: Record<string, LeadValue[]> = {};
    for (const [field, col] of this.columns) columns[field] = col.slice(0, this.size);
    const dead: number[] = [];
    for (let row = 0; row < this.size; row++) if (this.alive[row] !== 1) dead.push(row + 1);
    return {
      size: this.size, dead,
      createdAt: Array.from(this.created.subarray(0, this.size)),
      updatedAt: Array.from(this.updated.subarray(0, this.size)),
      partitionId: Array.from(this.partition.subarray(0, this.size)),
      columns,
    };
  }

  /** Replaces everything stored with `state` (validated by the caller); indexes are rebuilt on use. */
  loadState(state: LeadStoreState): void {
    const n = state.size;
    for (const [name, arr] of [['createdAt', state.createdAt], ['updatedAt', state.updatedAt], ['partitionId', state.partitionId]] as const) {
      if (arr.length !== n) throw new Error(`leads.${name} holds ${arr.length} values for ${n} leads`);
    }
    this.size = n;
    this.alive = new Uint8Array(Math.max(1024, n)).fill(1, 0, n);
    for (const id of state.dead) {
      if (!Number.isInteger(id) || id < 1 || id > n) throw new Error(`leads.dead names lead ${id}, outside 1..${n}`);
      this.alive[id - 1] = 0;
    }
    this.created = new Uint32Array(Math.max(1024, n));
    this.created.set(state.createdAt);
    this.updated = new Uint32Array(Math.max(1024, n));
    this.updated.set(state.updatedAt);
    this.partition = new Uint16Array(Math.max(1024, n));
    this.partition.set(state.partitionId);
    this.liveCount = n - new Set(state.dead).size;
    this.columns.clear();
    for (const [field, col] of Object.entries(state.columns)) {
      if (col.length > n) throw new Error(`leads.columns.${field} holds ${col.length} values for ${n} leads`);
      this.columns.set(field, col.slice());
    }
    this.indexes.clear();
    this.columnsVersion += 1;
    this.mutations += 1;
  }

  private index(field: string): Map<string, number | number[]> {
    let index = this.indexes.get(field);
    if (index) return index;
    index = new Map();
    const col = this.columns.get(field) ?? [];
    for (let row = 0; row < col.length; row++) {
      const v = col[row];
      if (v !== undefined && v !== null && this.alive[row] === 1) addToIndex(index, indexKey(v), row + 1);
    }
    this.indexes.set(field, index);
    return index;
  }
}

function indexKey(v: LeadValue | string | number): string {
  return String(v).toLowerCase();
}

function addToIndex(index: Map<string, number | number[]>, key: string, id: number): void {
  const cur = index.get(key);
  if (cur === undefined) index.set(key, id);
  else if (typeof cur === 'number') index.set(key, cur === id ? cur : [cur, id].sort((a, b) => a - b));
  else if (!cur.includes(id)) {
    cur.push(id);
    cur.sort((a, b) => a - b);
  }
}

function removeFromIndex(index: Map<string, number | number[]>, key: string, id: number): void {
  const cur = index.get(key);
  if (cur === undefined) return;
  if (typeof cur === 'number') {
    if (cur === id) index.delete(key);
    return;
  }
  const rest = cur.filter((x) => x !== id);
  if (rest.length === 0) index.delete(key);
  else if (rest.length === 1) index.set(key, rest[0] as number);
  else index.set(key, rest);
}
