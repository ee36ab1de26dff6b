import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { arrayLiteral } from '../src/crm/postgres/bulk-upsert.js';
import { checkValue, type Checked } from '../src/crm/postgres/copy-encoding.js';
import { inTransaction } from '../src/crm/postgres/db.js';
import type { ColumnMeta, TableMeta } from '../src/crm/postgres/introspect.js';
import type { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import { routeLead, type FieldStep } from '../src/mapping/apply.js';
import type { Transformed } from '../src/mapping/transforms.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import { textOrNull } from '../src/marketo/values.js';
import type { PersonMapping, PersonType } from '../src/reconcile/person-mapping.js';
import type { ErrorLedgerRepository, RecordFailure } from '../src/store/error-ledger.js';
import type { BootstrapStaging, LoadedTargets } from './bootstrap-staging.js';

/**
 * The bootstrap's person write when the CRM is the Postgres connector and the state store lives
 * in the same database: one transaction and one statement per batch instead of a transaction each
 * for the lead upsert, the contact upsert, the id map, the ledger and the staging rows.
 *
 *   - Each row is mapped and checked straight into the text the database takes (no mapped record
 *     object, no second pass over it); the values are the general path's: the same compiled field
 *     transforms, the same column checks, the same failures (code and reason) for the ledger.
 *   - The account and owner CRM ids come from what the sales phases loaded (one lookup of the
 *     batch's distinct keys); one statement then upserts
 *     leads and contacts keyed on the Marketo lead id (ON CONFLICT: a retried window updates),
 *     links the id map from what the upserts return, stages only the persons with a reference left
 *     to set (a person linked at write time needs no staging row), and resolves ledger entries
 *     only when the ledger holds an open one for the operation. The batch's new company and
 *     salesperson keys go in alongside, in a statement of their own.
 *   - Persons written for the first time (nearly every batch of a bootstrap) go in by plain
 *     INSERTs; a unique violation (a person written already: a retried window) rolls the batch
 *     back and writes it again with the ON CONFLICT statement, so a retried window still updates
 *     in place and leaves exactly what the upserts leave (see `StatementMode`).
 *
 * Anything this path does not cover exactly as the general path would (a field missing from a
 * row, a required non-boolean field left empty, an unknown column) answers `undefined` before
 * writing; a database error rolls the batch back. Either way the caller writes the batch through
 * the general path, which isolates bad records one by one.
 */

export interface ColocatedBatchOutcome {
  written: number;
  failed: number;
}

export interface BatchProfile {
  add(step: string, ms: number): void;
}

/** Per column of one CRM table: the checked text of every row that goes through (null = SQL NULL). */
interface TypeEncoder {
  type: PersonType;
  table: TableMeta;
  /** Written columns, sorted by name (the connector checks in this order, so names the same first bad value). */
  columns: ColumnMeta[];
  key: ColumnMeta;
  steps: { from: string; convert: FieldStep['convert']; onNull: Transformed; column: number }[];
  /** `checkValue` of a null per column, computed once (most cells of an export are empty). */
  nullChecked: Checked[];
  /** Columns whose null the general path leaves out of the record (required, not boolean). */
  absentWhenNull: boolean[];
  /** Scratch: the converted value per column of the row being encoded (every column is set per row). */
  converted: unknown[];
}

interface Batch {
  mids: string[];
  companyKeys: (string | null)[];
  salesKeys: (string | null)[];
  values: (string | null)[][];
  seen: Set<string>;
}

export interface ColocatedPersonWriter {
  write(runId: string, rows: readonly RecordRow[], profile?: BatchProfile): Promise<ColocatedBatchOutcome | undefined>;
}

const OPERATION = 'bootstrap';

function compileType(mapping: PersonMapping, type: PersonType, table: TableMeta): TypeEncoder | undefined {
  const idField = mapping.config.leadKey.crmMarketoIdField;
  const key = table.columns.get(idField);
  if (!key?.field.unique) return undefined;
  const { steps, required } = mapping.plan[type];
  const names = [...new Set(steps.filter((s) => s.keep && s.to !== idField).map((s) => s.to))].sort();
  const columns: ColumnMeta[] = [];
  for (const name of names) {
    const column = table.columns.get(name);
    // The connector refuses these per record (UNKNOWN_FIELD, READ_ONLY_FIELD): leave them to it.
    if (!column?.field.updateable || name === 'id' || name === 'account_id' || name === 'owner_id') return undefined;
    columns.push(column);
  }
  const requiredNonBoolean = new Set(required.filter((r) => !r.boolean).map((r) => r.name));
  return {
    type,
    table,
    columns,
    key,
    // A later step writing the same CRM field wins, as in the mapped record.
    steps: steps.map((s, i) => ({
      from: s.from,
      convert: s.convert,
      onNull: s.convert(null),
      column: s.keep && s.to !== idField && !steps.slice(i + 1).some((later) => later.keep && later.to === s.to) ? names.indexOf(s.to) : -1,
    })),
    nullChecked: columns.map((c) => checkValue(c, null)),
    absentWhenNull: columns.map((c) => requiredNonBoolean.has(c.field.name)),
    converted: columns.map(() => undefined),
  };
}

/**
 * How a batch statement writes:
 *   - `insert`: plain INSERTs into the CRM tables, the id map and the staging table, for persons
 *     written for the first time (no arbiter probe and no speculative insertion per row and table).
 *     A person already written (a retried window) raises a unique violation and the batch is run
 *     again as `upsert`, so what it leaves is what `upsert` leaves.
 *   - `upsert`: ON CONFLICT throughout (a retried window updates in place); also counts the CRM
 *     rows it inserted, so the writer knows when batches are new again.
 */
export type StatementMode = 'insert' | 'upsert';

/** The statement writing one batch; fixed per pair of encoders and mode, so prepared once per connection. */
function batchStatement(crmSchema: string, staging: BootstrapStaging, lead: TypeEncoder, contact: TypeEncoder, mode: StatementMode): { sql: string; name: string } {
  const s = staging.qschema;
  const conflicts = mode === 'upsert';
  // $3 and $4: the batch's smallest and largest Marketo id.
  let param = 5;
  // Account (contacts) and owner CRM ids come resolved, per row, after the keys: joined here on
  // bootstrap_loaded, the generic plan of a prepared statement (after five runs) counts the unnest
  // as 10 rows and made a nested loop comparing every row with every loaded salesperson of the run
  // (231,118 comparisons for one batch of 2,000 at 178 salespersons; at 1M leads, 5,000 of them).
  const refs = (enc: TypeEncoder) => (enc.type === 'contact' ? ['_account', '_owner'] : ['_owner']);
  const source = (enc: TypeEncoder) => {
    const casts = [`$${param++}::${enc.key.sqlType}[]`, `$${param++}::text[]`, `$${param++}::text[]`, ...refs(enc).map(() => `$${param++}::text[]`), ...enc.columns.map((c) => `$${param++}::${c.sqlType}[]`)];
    const names = ['_mid', '_ck', '_sk', ...refs(enc), ...enc.columns.map((c) => escapeIdentifier(c.field.name))];
    return `unnest(${casts.join(', ')}) AS s(${names.join(', ')})`;
  };
  const target = (enc: TypeEncoder) => `${escapeIdentifier(crmSchema)}.${escapeIdentifier(enc.table.table)}`;
  const key = escapeIdentifier(lead.key.field.name);
  const upsert = (enc: TypeEncoder, refs: string[]) => {
    const cols = enc.columns.map((c) => escapeIdentifier(c.field.name));
    const set = [...cols.map((c) => `${c} = EXCLUDED.${c}`), ...refs.map((r) => `${r} = coalesce(EXCLUDED.${r}, t.${r})`)];
    return `INSERT INTO ${target(enc)} AS t (${[key, ...cols, ...refs].join(', ')})
      SELECT ${['_mid', ...cols, ...refs.map((r) => (r === 'account_id' ? '_account' : '_owner'))].join(', ')} FROM ${enc.type === 'lead' ? 'l' : 'c'}
      ${conflicts ? `ON CONFLICT (${key}) DO UPDATE SET ${set.join(', ')}` : ''}
      RETURNING t.id, t.${key} AS mid${mode === 'upsert' ? ', t.xmax = 0 AS fresh' : ''}`;
  };
  const leadSource = source(lead);
  const contactSource = source(contact);
  const open = `l.status IN ('open', 'retrying')`;
  const stagedPending = `$1, _mid, 'lead', _ck, _sk, false, false FROM l WHERE _sk IS NOT NULL AND _owner IS NULL
            UNION ALL
            SELECT $1, _mid, 'contact', _ck, _sk, _account IS NOT NULL, _owner IS NOT NULL FROM c
              WHERE (_ck IS NOT NULL AND _account IS NULL) OR (_sk IS NOT NULL AND _owner IS NULL)`;
  // A staging row of this batch's persons, if any, lies between its smallest and largest id: with
  // none there (batches of new persons, in id order) the re-mark below is never executed.
  const anyStaged = `EXISTS (SELECT 1 FROM ${staging.personRefs} r WHERE r.run_id = $1 AND r.marketo_lead_id BETWEEN $3 AND $4) AND `;
  const sql = `WITH
    l AS (SELECT * FROM ${leadSource}),
    c AS (SELECT * FROM ${contactSource}),
    li AS (${upsert(lead, lead.table.columns.has('owner_id') ? ['owner_id'] : [])}),
    ci AS (${upsert(contact, [...(contact.table.columns.has('account_id') ? ['account_id'] : []), ...(contact.table.columns.has('owner_id') ? ['owner_id'] : [])])}),
    ups AS (SELECT 'lead'::text AS type, id, mid${mode === 'upsert' ? ', fresh' : ''} FROM li UNION ALL SELECT 'contact', id, mid${mode === 'upsert' ? ', fresh' : ''} FROM ci),
    idm AS (INSERT INTO ${s}.id_map (entity, marketo_id, crm_type, crm_id) SELECT 'lead', mid::text, type, id FROM ups
            ${conflicts ? 'ON CONFLICT (entity, marketo_id) DO UPDATE SET crm_type = EXCLUDED.crm_type, crm_id = EXCLUDED.crm_id, updated_at = now()' : ''}),
    stg AS (INSERT INTO ${staging.personRefs} AS t (run_id, marketo_lead_id, person_type, external_company_id, external_sales_person_id, account_linked, owner_linked)
            SELECT ${stagedPending}
            ${
              conflicts
                ? `ON CONFLICT (run_id, marketo_lead_id) DO UPDATE SET person_type = EXCLUDED.person_type,
              external_company_id = EXCLUDED.external_company_id, external_sales_person_id = EXCLUDED.external_sales_person_id,
              account_linked = EXCLUDED.account_linked OR (t.account_linked AND t.external_company_id IS NOT DISTINCT FROM EXCLUDED.external_company_id
                                                           AND t.person_type = EXCLUDED.person_type),
              owner_linked = EXCLUDED.owner_linked OR (t.owner_linked AND t.external_sales_person_id IS NOT DISTINCT FROM EXCLUDED.external_sales_person_id
                                                       AND t.person_type = EXCLUDED.person_type)`
                : ''
            }),
    -- A person linked now but staged as pending by an earlier attempt of its window: mark it the
    -- way stage() would, so no link step rewrites it (a probe that finds nothing otherwise).
    relinked AS (UPDATE ${staging.personRefs} AS t SET person_type = w.type, external_company_id = w._ck, external_sales_person_id = w._sk,
                   account_linked = w._account IS NOT NULL OR (t.account_linked AND t.external_company_id IS NOT DISTINCT FROM w._ck AND t.person_type = w.type),
                   owner_linked = w._owner IS NOT NULL OR (t.owner_linked AND t.external_sales_person_id IS NOT DISTINCT FROM w._sk AND t.person_type = w.type)
                 FROM (SELECT _mid, 'lead' AS type, _ck, _sk, NULL::text AS _account, _owner FROM l WHERE _sk IS NULL OR _owner IS NOT NULL
                       UNION ALL
                       SELECT _mid, 'contact', _ck, _sk, _account, _owner FROM c
                         WHERE NOT ((_ck IS NOT NULL AND _account IS NULL) OR (_sk IS NOT NULL AND _owner IS NULL))) w
                 WHERE ${anyStaged}t.run_id = $1 AND t.marketo_lead_id = w._mid),
    -- The uncorrelated EXISTS runs once: with no open entry for the operation the join is skipped.
    led AS (UPDATE ${s}.error_ledger l SET status = 'resolved', last_seen = now() FROM ups
            WHERE EXISTS (SELECT 1 FROM ${s}.error_ledger g WHERE g.operation = $2 AND g.status IN ('open', 'retrying'))
              AND l.entity = ups.type AND l.record_key = ups.mid::text AND l.operation = $2 AND ${open})
    SELECT count(*)::int AS written${mode === 'upsert' ? ', (count(*) FILTER (WHERE fresh))::int AS fresh' : ''} FROM ups`;
  return { sql, name: statementName('bootstrap_persons', sql) };
}

/** Statement names are per connection; the text decides the name so two mappings never collide. */
function statementName(prefix: string, sql: string): string {
  let hash = 0;
  for (let i = 0; i < sql.length; i++) hash = (Math.imul(hash, 31) + sql.charCodeAt(i)) | 0;
  return `${prefix}_${(hash >>> 0).toString(36)}`;
}

/**
 * A writer for this mapping and CRM, or undefined when a column of the mapping is one the fast
 * path leaves to the connector. Compiled once per mapping (the sink keeps its mapping per process).
 */
export async function colocatedPersonWriter(
  crm: PostgresCrmConnector,
  staging: BootstrapStaging,
  ledger: Pick<ErrorLedgerRepository, 'record'>,
  mapping: PersonMapping,
): Promise<ColocatedPersonWriter | undefined> {
  const lead = compileType(mapping, 'lead', await crm.table('lead'));
  const contact = compileType(mapping, 'contact', await crm.table('contact'));
  if (!lead || !contact || lead.key.field.name !== contact.key.field.name) return undefined;
  const statements = {
    insert: batchStatement(crm.schema, staging, lead, contact, 'insert'),
    upsert: batchStatement(crm.schema, staging, lead, contact, 'upsert'),
  };
  const encoders = { lead, contact };
  const knownKeys = new KnownKeys();
  // Whether the last batch upserted persons that were written already (a retried window): its
  // next batches most likely were too, so they start as upserts instead of failing as inserts.
  let rewriting = false;

  return {
    async write(runId, rows, profile) {
      const t0 = performance.now();
      const batches: Record<PersonType, Batch> = {
        lead: { mids: [], companyKeys: [], salesKeys: [], values: lead.columns.map(() => []), seen: new Set() },
        contact: { mids: [], companyKeys: [], salesKeys: [], values: contact.columns.map(() => []), seen: new Set() },
      };
      const failures: RecordFailure[] = [];
      const companyKeys = new Set<string>();
      const salesKeys = new Set<string>();
      const scratch: (string | null)[] = [];
      for (const row of rows) {
        const marketoId = textOrNull(row.id);
        // The general path refuses the whole batch for this (the export must include id).
        if (marketoId === null) return undefined;
        const type = routeLead(mapping.config, row);
        const enc = encoders[type];
        const ck = textOrNull(row.externalCompanyId);
        const sk = textOrNull(row.externalSalesPersonId);
        if (ck !== null) companyKeys.add(ck);
        if (sk !== null) salesKeys.add(sk);
        const outcome = encodeRow(enc, row, marketoId, batches[type], scratch);
        if (outcome === 'fallback') return undefined;
        if (outcome !== 'ok') {
          failures.push({ entity: type, recordKey: marketoId, operation: OPERATION, ...outcome });
          continue;
        }
        const batch = batches[type];
        batch.companyKeys.push(ck);
        batch.salesKeys.push(sk);
      }
      const keys = [...[...companyKeys].map((k) => ['company', k] as const), ...[...salesKeys].map((k) => ['salesPerson', k] as const)];
      const newKeys = knownKeys.unknown(runId, keys);
      const allMids = [...batches.lead.mids, ...batches.contact.mids];
      let min = Infinity;
      let max = -Infinity;
      for (const mid of allMids) {
        const n = Number(mid);
        if (n < min) min = n;
        if (n > max) max = n;
      }
      const columns = { lead: batches.lead.values.map((v) => arrayLiteral(v)), contact: batches.contact.values.map((v) => arrayLiteral(v)) };
      const keyArrays = {
        lead: [arrayLiteral(batches.lead.mids), arrayLiteral(batches.lead.companyKeys), arrayLiteral(batches.lead.salesKeys)],
        contact: [arrayLiteral(batches.contact.mids), arrayLiteral(batches.contact.companyKeys), arrayLiteral(batches.contact.salesKeys)],
      };
      const params = (targets: LoadedTargets): (string | null)[] => {
        const out: (string | null)[] = [runId, OPERATION];
        out.push(allMids.length > 0 ? String(min) : null, allMids.length > 0 ? String(max) : null);
        const owners = (b: Batch) => arrayLiteral(b.salesKeys.map((k) => (k === null ? null : (targets.salesPersons.get(k) ?? null))));
        out.push(...keyArrays.lead, owners(batches.lead), ...columns.lead);
        const accounts = arrayLiteral(batches.contact.companyKeys.map((k) => (k === null ? null : (targets.companies.get(k) ?? null))));
        out.push(...keyArrays.contact, accounts, owners(batches.contact), ...columns.contact);
        return out;
      };
      const contactCompanies = [...new Set(batches.contact.companyKeys.filter((k): k is string => k !== null))];
      const sent = allMids.length;
      const t1 = performance.now();
      profile?.add('map+encode', t1 - t0);
      const run = (mode: 'insert' | 'upsert', targets: LoadedTargets) =>
        inTransaction(crm.pool, crm.origin, async (client: pg.PoolClient) => {
          // Refused records are recorded before the statement resolves entries, as the general path does.
          if (failures.length > 0) await ledger.record(failures, client);
          const statement = statements[mode];
          const { rows: out } = await client.query<{ written: number; fresh?: number }>({ name: statement.name, text: statement.sql, values: params(targets) });
          const n = out[0]?.written ?? 0;
          if (n !== sent) throw Object.assign(new Error(`the batch statement wrote ${n} of ${sent} persons`), { code: 'XX000' });
          return { written: n, fresh: out[0]?.fresh ?? n };
        });
      try {
        // The keys go in on their own, alongside: an INSERT that meets a key another batch's open
        // transaction inserted waits for that transaction, so inside the batch's transaction every
        // window would queue behind the others. Keys already known are not inserted again.
        const staged = staging.stageKeys(runId, newKeys);
        void staged.catch(() => undefined);
        // What is loaded now, read alongside the keys and before the batch's transaction (the CRM
        // connection is held only for the write). A target loaded in between leaves its persons
        // staged for the link steps; one deleted in between fails its foreign key (general path).
        const targets = await loadedTargets(staging.pool, staging, runId, contactCompanies, [...salesKeys]);
        let written: number;
        if (rewriting) {
          const out = await run('upsert', targets);
          written = out.written;
          rewriting = out.fresh < out.written;
        } else {
          try {
            written = (await run('insert', targets)).written;
          } catch (err) {
            // A person of the batch is written already: the batch again, as upserts.
            if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
            const t = performance.now();
            const out = await run('upsert', targets);
            profile?.add('upsert after insert', performance.now() - t);
            written = out.written;
            rewriting = out.fresh < out.written;
          }
        }
        await staged;
        knownKeys.add(runId, newKeys);
        profile?.add('statement+commit', performance.now() - t1);
        return { written, failed: failures.length };
      } catch (err) {
        profile?.add('statement+commit', performance.now() - t1);
        if (isDataError(err)) return undefined;
        throw err;
      }
    },
  };
}

const UNIQUE_VIOLATION = '23505';

/**
 * CRM ids of the loaded companies and salespersons among these keys: one probe of the primary key
 * per distinct key (a few hundred to a few thousand per batch), whatever the plan.
 */
async function loadedTargets(client: pg.Pool | pg.PoolClient, staging: BootstrapStaging, runId: string, companies: string[], salesPersons: string[]): Promise<LoadedTargets> {
  const out: LoadedTargets = { companies: new Map(), salesPersons: new Map() };
  if (companies.length === 0 && salesPersons.length === 0) return out;
  const text = `SELECT kind, key, crm_id FROM ${staging.loaded}
    WHERE run_id = $1 AND crm_id IS NOT NULL AND ((kind = 'company' AND key = ANY($2::text[])) OR (kind = 'salesPerson' AND key = ANY($3::text[])))`;
  const { rows } = await client.query<{ kind: string; key: string; crm_id: string }>({
    name: statementName('bootstrap_targets', text),
    text,
    values: [runId, arrayLiteral(companies), arrayLiteral(salesPersons)],
  });
  for (const r of rows) (r.kind === 'company' ? out.companies : out.salesPersons).set(r.key, r.crm_id);
  return out;
}

type StagedKey = readonly ['company' | 'salesPerson', string];

/**
 * Company and salesperson keys this process has staged per run (committed), so a batch sends
 * only keys it has not seen: after the first batches of a run nearly every key is known. Bounded:
 * a few runs, and a run's set is dropped when it grows past a limit (keys are then sent again,
 * which the insert skips).
 */
class KnownKeys {
  private readonly runs = new Map<string, Set<string>>();
  private static readonly MAX_RUNS = 4;
  private static readonly MAX_KEYS = 200_000;

  unknown(runId: string, keys: readonly StagedKey[]): StagedKey[] {
    const known = this.runs.get(runId);
    return known ? keys.filter((k) => !known.has(`${k[0]}\u001f${k[1]}`)) : [...keys];
  }

  add(runId: string, keys: readonly StagedKey[]): void {
    let known = this.runs.get(runId);
    if (!known || known.size + keys.length > KnownKeys.MAX_KEYS) {
      this.runs.delete(runId);
      if (this.runs.size >= KnownKeys.MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      this.runs.set(runId, (known = new Set()));
    }
    for (const k of keys) known.add(`${k[0]}\u001f${k[1]}`);
  }
}

/**
 * Maps and checks one row into `scratch` (one text per column), as `PersonMapping.map` and the
 * connector's checks would: a failure carries the code and reason the general path records.
 */
function encodeRow(
  enc: TypeEncoder,
  row: RecordRow,
  marketoId: string,
  batch: Batch,
  scratch: (string | null)[],
): 'ok' | 'fallback' | Pick<RecordFailure, 'source' | 'code' | 'reason'> {
  scratch.length = enc.columns.length;
  const converted = enc.converted;
  let errors: string[] | undefined;
  for (const step of enc.steps) {
    const raw = row[step.from];
    if (raw === undefined) return 'fallback';
    const t = raw === null ? step.onNull : step.convert(raw);
    if (!t.ok) (errors ??= []).push(t.error);
    else if (step.column >= 0) converted[step.column] = t.value;
  }
  if (errors) return { source: 'marketo', code: 'MAPPING', reason: errors.join('; ') };
  const keyChecked = checkValue(enc.key, Number(marketoId));
  if (keyChecked === null || typeof keyChecked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: keyChecked?.error ?? `key field '${enc.key.field.name}' is empty` };
  if (batch.seen.has(keyChecked)) return { source: 'crm', code: 'DUPLICATE_IN_BATCH', reason: `another record of this batch has the same '${enc.key.field.name}'` };
  for (let c = 0; c < enc.columns.length; c++) {
    const value = converted[c];
    if (value === null || value === undefined) {
      if (enc.absentWhenNull[c]) return 'fallback';
      const checked = enc.nullChecked[c]!;
      if (checked !== null && typeof checked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: checked.error };
      scratch[c] = checked;
      continue;
    }
    const checked = checkValue(enc.columns[c]!, value);
    if (checked !== null && typeof checked !== 'string') return { source: 'crm', code: 'INVALID_VALUE', reason: checked.error };
    scratch[c] = checked;
  }
  batch.seen.add(keyChecked);
  batch.mids.push(keyChecked);
  for (let c = 0; c < scratch.length; c++) batch.values[c]!.push(scratch[c]!);
  return 'ok';
}

/** A statement the database refused (constraint, conflict, bad value): the general path isolates it. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || code.length !== 5) return false;
  // Connection and shutdown errors: the activity retries, no other path would fare better.
  return !code.startsWith('08') && !code.startsWith('57');
}
