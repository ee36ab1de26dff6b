import type { CrmFieldType } from '../src/crm/connector.js';
import { arrayElement, arrayLiteralOf, compileCheck, type Checked } from '../src/crm/postgres/copy-encoding.js';
import type { ColumnMeta, TableMeta } from '../src/crm/postgres/introspect.js';
import { routeLead } from '../src/mapping/apply.js';
import { TransformError } from '../src/mapping/transforms.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { textOrNull } from '../src/marketo/values.js';
import type { PersonMapping, PersonType } from '../src/reconcile/person-mapping.js';
import type { RecordFailure } from '../src/store/error-ledger.js';

/**
 * The co-located person batch's rows as the batch statement takes them: each row mapped, checked
 * and encoded straight into array-literal elements, one pass per row, with the general path's
 * values and failures (code and reason): the same field transforms (`FieldStep.convertValue`), the
 * same column checks (`compileCheck`), in the same order.
 *
 * Per column, one compiled transform and one compiled check; per cell nothing is allocated beyond
 * the element's text when it needs quotes (values reach it as the strings the parser made).
 * Failures are made when the mapping is compiled, except the joined reasons of a row that fails
 * several transforms.
 */

/** The CRM columns one type's statement writes. */
export interface PersonColumns {
  type: PersonType;
  table: TableMeta;
  /** The Marketo lead id's column, the upsert key. */
  key: ColumnMeta;
  /** Written columns, sorted by name (the connector checks in this order, so names the same first bad value). */
  columns: ColumnMeta[];
}

/** One type's persons of a batch that go through. */
export interface EncodedPersons {
  /** The key's checked text per person (the Marketo lead id as the key column takes it). */
  mids: string[];
  companyKeys: (string | null)[];
  salesKeys: (string | null)[];
  /** One array literal per written column, in `PersonColumns.columns` order. */
  columns: string[];
}

export interface EncodedBatch {
  lead: EncodedPersons;
  contact: EncodedPersons;
  /** Rows refused (mapping, CRM checks, a second row of the same person), in row order. */
  failures: RecordFailure[];
  /** Every company and salesperson key the rows name, refused rows' too (the sales phases load them). */
  companyKeys: Set<string>;
  salesKeys: Set<string>;
}

export interface PersonBatchEncoder {
  readonly lead: PersonColumns;
  readonly contact: PersonColumns;
  /**
   * The batch encoded, or undefined when a row is one this path does not cover exactly as the
   * general path would (no id, a field missing from a row, a required non-boolean field left
   * empty): the general path takes the batch then.
   */
  encode(rows: readonly RecordRow[], operation: string): EncodedBatch | undefined;
}

export type PersonBatchEncoderFactory = (mapping: PersonMapping, tables: Record<PersonType, TableMeta>) => PersonBatchEncoder | undefined;

/** The columns a type's statement writes, or undefined when the mapping writes one the connector refuses per record. */
export function personColumns(mapping: PersonMapping, type: PersonType, table: TableMeta): PersonColumns | undefined {
  const idField = mapping.config.leadKey.crmMarketoIdField;
  const key = table.columns.get(idField);
  if (!key?.field.unique) return undefined;
  const names = [...new Set(mapping.plan[type].steps.filter((s) => s.keep && s.to !== idField).map((s) => s.to))].sort();
  const columns: ColumnMeta[] = [];
  for (const name of names) {
    const column = table.columns.get(name);
    // The connector refuses these per record (UNKNOWN_FIELD, READ_ONLY_FIELD): leave them to it.
    if (!column?.field.updateable || name === 'id' || name === 'account_id' || name === 'owner_id') return undefined;
    columns.push(column);
  }
  return { type, table, key, columns };
}

/** Index of the column each step writes, or -1 for steps converted for their errors only (references, the key, a field a later step writes again). */
export function stepColumns(mapping: PersonMapping, shape: PersonColumns): number[] {
  const idField = mapping.config.leadKey.crmMarketoIdField;
  const steps = mapping.plan[shape.type].steps;
  const names = shape.columns.map((c) => c.field.name);
  // A later step writing the same CRM field wins, as in the mapped record.
  return steps.map((s, i) => (s.keep && s.to !== idField && !steps.slice(i + 1).some((later) => later.keep && later.to === s.to) ? names.indexOf(s.to) : -1));
}

type Failure = Pick<RecordFailure, 'source' | 'code' | 'reason'>;

/** Types whose checked text `checkValue` has matched against a pattern of digits, signs, points and dashes, or made 't'/'f'. */
const PLAIN_TYPES = new Set<CrmFieldType>(['integer', 'decimal', 'currency', 'percent', 'boolean', 'date']);

/** A positive integer without leading zeros that `String(Number(id))` gives back unchanged. */
const CANONICAL_ID = /^[1-9]\d{0,8}$/;

/** A row the general path must write (see `PersonBatchEncoder.encode`). */
const FALLBACK = Symbol('fallback');

interface Cell {
  from: string;
  convert: (raw: unknown) => unknown;
  /** See `stepColumns`. */
  column: number;
}

interface CompiledType {
  shape: PersonColumns;
  cells: Cell[];
  checks: ((value: unknown) => Checked)[];
  /** Columns whose checked texts never need quotes (digits, signs, points, t/f, dates). */
  plain: boolean[];
  checkKey: (value: unknown) => Checked;
  /** An integer key column: a canonical id is its own text (see `CANONICAL_ID`). */
  integerKey: boolean;
  emptyKey: Failure;
  duplicate: Failure;
  /** What a converted null becomes per column: an element, a failure, or the general path. */
  nullCell: (string | Failure | typeof FALLBACK)[];
  /** Scratch: the row being encoded, one element or outcome per column (every column is set per row). */
  scratch: (string | Failure | typeof FALLBACK)[];
}

function compileType(mapping: PersonMapping, shape: PersonColumns): CompiledType {
  const { steps, required } = mapping.plan[shape.type];
  const targets = stepColumns(mapping, shape);
  const checks = shape.columns.map((c) => compileCheck(c));
  const requiredNonBoolean = new Set(required.filter((r) => !r.boolean).map((r) => r.name));
  const invalid = (error: string): Failure => ({ source: 'crm', code: 'INVALID_VALUE', reason: error });
  return {
    shape,
    cells: steps.map((s, i) => ({ from: s.from, convert: s.convertValue, column: targets[i]! })),
    checks,
    plain: shape.columns.map((c) => PLAIN_TYPES.has(c.field.type)),
    checkKey: compileCheck(shape.key),
    integerKey: shape.key.field.type === 'integer',
    emptyKey: invalid(`key field '${shape.key.field.name}' is empty`),
    duplicate: { source: 'crm', code: 'DUPLICATE_IN_BATCH', reason: `another record of this batch has the same '${shape.key.field.name}'` },
    nullCell: shape.columns.map((c, i) => {
      // The general path leaves a required non-boolean field's null out of the record (its CRM default).
      if (requiredNonBoolean.has(c.field.name)) return FALLBACK;
      const checked = checks[i]!(null);
      return checked === null ? 'NULL' : typeof checked === 'string' ? arrayElement(checked) : invalid(checked.error);
    }),
    scratch: shape.columns.map(() => 'NULL'),
  };
}

interface TypeBatch {
  mids: string[];
  companyKeys: (string | null)[];
  salesKeys: (string | null)[];
  elements: string[][];
  /** The largest key so far: a person above it is not in the batch yet (exports come in id order). */
  last: number;
  /** Keys of the persons so far as numbers (one key text per number), made when a key comes out of order. */
  seen: Set<number> | undefined;
}

/** Whether the batch holds a person with this key: a set only once keys come out of order. */
function seenBefore(batch: TypeBatch, n: number): boolean {
  if (n > batch.last) return false;
  batch.seen ??= new Set(batch.mids.map(Number));
  return batch.seen.has(n);
}

/** The encoder of the product: see the file's header. */
export const compilePersonBatchEncoder: PersonBatchEncoderFactory = (mapping, tables) => {
  const leadShape = personColumns(mapping, 'lead', tables.lead);
  const contactShape = personColumns(mapping, 'contact', tables.contact);
  if (!leadShape || !contactShape || leadShape.key.field.name !== contactShape.key.field.name) return undefined;
  const compiled = { lead: compileType(mapping, leadShape), contact: compileType(mapping, contactShape) };
  const config = mapping.config;
  const newBatch = (t: CompiledType): TypeBatch => ({ mids: [], companyKeys: [], salesKeys: [], elements: t.shape.columns.map(() => []), last: -Infinity, seen: undefined });
  // Only what the statement needs outlives the encoding (a batch waits for its statement a while).
  const done = (b: TypeBatch): EncodedPersons => ({ mids: b.mids, companyKeys: b.companyKeys, salesKeys: b.salesKeys, columns: b.elements.map(arrayLiteralOf) });

  return {
    lead: leadShape,
    contact: contactShape,
    encode(rows, operation) {
      const batches = { lead: newBatch(compiled.lead), contact: newBatch(compiled.contact) };
      const failures: RecordFailure[] = [];
      const companyKeys = new Set<string>();
      const salesKeys = new Set<string>();
      for (const row of rows) {
        const marketoId = textOrNull(row.id);
        // The general path refuses the whole batch for this (the export must include id).
        if (marketoId === null) return undefined;
        const type = routeLead(config, row);
        const ck = textOrNull(row.externalCompanyId);
        const sk = textOrNull(row.externalSalesPersonId);
        if (ck !== null) companyKeys.add(ck);
        if (sk !== null) salesKeys.add(sk);
        const batch = batches[type];
        const outcome = encodeRow(compiled[type], row, marketoId, batch);
        if (outcome === FALLBACK) return undefined;
        if (outcome !== undefined) {
          failures.push({ entity: type, recordKey: marketoId, operation, ...outcome });
          continue;
        }
        batch.companyKeys.push(ck);
        batch.salesKeys.push(sk);
      }
      return { lead: done(batches.lead), contact: done(batches.contact), failures, companyKeys, salesKeys };
    },
  };
};

/**
 * Maps, checks and encodes one row into its batch, as `PersonMapping.map` and the connector's
 * checks would: undefined when it goes through, else the failure the general path records (every
 * transform error of the row; else a bad key, a second row of the person, or the first bad column).
 */
function encodeRow(t: CompiledType, row: RecordRow, marketoId: string, batch: TypeBatch): Failure | typeof FALLBACK | undefined {
  const scratch = t.scratch;
  let errors: string[] | undefined;
  let bad = false;
  for (const cell of t.cells) {
    const raw = row[cell.from];
    if (raw === undefined) return FALLBACK;
    const value = cell.convert(raw);
    if (value instanceof TransformError) {
      (errors ??= []).push(value.error);
      continue;
    }
    const c = cell.column;
    if (c < 0) continue;
    if (value === null) {
      const out = t.nullCell[c]!;
      if (typeof out !== 'string') bad = true;
      scratch[c] = out;
      continue;
    }
    const checked = t.checks[c]!(value);
    if (typeof checked === 'string') scratch[c] = t.plain[c] ? checked : arrayElement(checked);
    else if (checked === null) scratch[c] = 'NULL';
    else {
      bad = true;
      scratch[c] = { source: 'crm', code: 'INVALID_VALUE', reason: checked.error };
    }
  }
  if (errors) return { source: 'marketo', code: 'MAPPING', reason: errors.join('; ') };
  const n = Number(marketoId);
  // An id as Marketo writes it is the key's text already (what the check would make of it).
  const key = t.integerKey && CANONICAL_ID.test(marketoId) ? marketoId : t.checkKey(n);
  if (key === null) return t.emptyKey;
  if (typeof key !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: key.error };
  if (seenBefore(batch, n)) return t.duplicate;
  if (bad) for (const out of scratch) if (typeof out !== 'string') return out;
  if (n > batch.last) batch.last = n;
  batch.seen?.add(n);
  batch.mids.push(key);
  for (let c = 0; c < scratch.length; c++) batch.elements[c]!.push(scratch[c] as string);
  return undefined;
}
