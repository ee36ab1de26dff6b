import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { arrayElement, arrayLiteralOf } from '../src/crm/postgres/copy-encoding.js';
import { inTransaction } from '../src/crm/postgres/db.js';
import type { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';
import type { PersonMapping } from '../src/reconcile/person-mapping.js';
import type { ErrorLedgerRepository } from '../src/store/error-ledger.js';
import { compilePersonBatchEncoder, type EncodedBatch, type EncodedPersons, type PersonBatchEncoderFactory, type PersonColumns } from './bootstrap-person-encoder.js';
import type { BootstrapStaging, LoadedTargets } from './bootstrap-staging.js';

/**
 * The bootstrap's person write when the CRM is the Postgres connector and the state store lives
 * in the same database: one transaction and one statement per batch instead of a transaction each
 * for the lead upsert, the contact upsert, the id map, the ledger and the staging rows.
 *
 *   - Each row is mapped and checked straight into the array elements the statement takes, in one
 *     pass (bootstrap-person-encoder.ts); the values are the general path's: the same field
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

export interface ColocatedPersonWriter {
  write(runId: string, rows: readonly RecordRow[], profile?: BatchProfile): Promise<ColocatedBatchOutcome | undefined>;
}

export interface ColocatedWriterOptions {
  /** How rows become the statement's arrays (benchmarks compare encoders); default the product's. */
  encoder?: PersonBatchEncoderFactory;
}

const OPERATION = 'bootstrap';

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
function batchStatement(crmSchema: string, staging: BootstrapStaging, lead: PersonColumns, contact: PersonColumns, mode: StatementMode): { sql: string; name: string } {
  const s = staging.qschema;
  const conflicts = mode === 'upsert';
  // $3 and $4: the batch's smallest and largest Marketo id.
  let param = 5;
  // Account (contacts) and owner CRM ids come resolved, per row, after the keys: joined here on
  // bootstrap_loaded, the generic plan of a prepared statement (after five runs) counts the unnest
  // as 10 rows and made a nested loop comparing every row with every loaded salesperson of the run
  // (231,118 comparisons for one batch of 2,000 at 178 salespersons; at 1M leads, 5,000 of them).
  const refs = (enc: PersonColumns) => (enc.type === 'contact' ? ['_account', '_owner'] : ['_owner']);
  const source = (enc: PersonColumns) => {
    const casts = [`$${param++}::${enc.key.sqlType}[]`, `$${param++}::text[]`, `$${param++}::text[]`, ...refs(enc).map(() => `$${param++}::text[]`), ...enc.columns.map((c) => `$${param++}::${c.sqlType}[]`)];
    const names = ['_mid', '_ck', '_sk', ...refs(enc), ...enc.columns.map((c) => escapeIdentifier(c.field.name))];
    return `unnest(${casts.join(', ')}) AS s(${names.join(', ')})`;
  };
  const target = (enc: PersonColumns) => `${escapeIdentifier(crmSchema)}.${escapeIdentifier(enc.table.table)}`;
  const key = escapeIdentifier(lead.key.field.name);
  const upsert = (enc: PersonColumns, refs: string[]) => {
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
  options: ColocatedWriterOptions = {},
): Promise<ColocatedPersonWriter | undefined> {
  const encoder = (options.encoder ?? compilePersonBatchEncoder)(mapping, { lead: await crm.table('lead'), contact: await crm.table('contact') });
  if (!encoder) return undefined;
  const statements = {
    insert: batchStatement(crm.schema, staging, encoder.lead, encoder.contact, 'insert'),
    upsert: batchStatement(crm.schema, staging, encoder.lead, encoder.contact, 'upsert'),
  };
  const knownKeys = new KnownKeys();
  // Whether the last batch upserted persons that were written already (a retried window): its
  // next batches most likely were too, so they start as upserts instead of failing as inserts.
  let rewriting = false;

  return {
    async write(runId, rows, profile) {
      const t0 = performance.now();
      const batch = encoder.encode(rows, OPERATION);
      if (!batch) return undefined;
      const { failures } = batch;
      const newKeys = knownKeys.unknown(runId, batch.companyKeys, batch.salesKeys);
      const sent = batch.lead.mids.length + batch.contact.mids.length;
      const contactCompanies = [...new Set(batch.contact.companyKeys.filter((k): k is string => k !== null))];
      const t1 = performance.now();
      profile?.add('map+encode', t1 - t0);
      const run = (mode: 'insert' | 'upsert', targets: LoadedTargets) =>
        inTransaction(crm.pool, crm.origin, async (client: pg.PoolClient) => {
          // Refused records are recorded before the statement resolves entries, as the general path does.
          if (failures.length > 0) await ledger.record(failures, client);
          const statement = statements[mode];
          const { rows: out } = await client.query<{ written: number; fresh?: number }>({ name: statement.name, text: statement.sql, values: statementParams(runId, OPERATION, batch, targets) });
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
        const targets = await loadedTargets(staging.pool, staging, runId, contactCompanies, [...batch.salesKeys]);
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

/** The batch statement's parameters: an encoded batch with the account and owner CRM ids of the targets loaded now. */
export function statementParams(runId: string, operation: string, batch: EncodedBatch, targets: LoadedTargets): (string | null)[] {
  const { lead, contact } = batch;
  let min = Infinity;
  let max = -Infinity;
  for (const mids of [lead.mids, contact.mids]) {
    for (const mid of mids) {
      const n = Number(mid);
      if (n < min) min = n;
      if (n > max) max = n;
    }
  }
  const any = lead.mids.length + contact.mids.length > 0;
  const owners = (p: EncodedPersons) => literal(p.salesKeys.map((k) => (k === null ? null : (targets.salesPersons.get(k) ?? null))));
  const accounts = literal(contact.companyKeys.map((k) => (k === null ? null : (targets.companies.get(k) ?? null))));
  return [
    runId,
    operation,
    any ? String(min) : null,
    any ? String(max) : null,
    literal(lead.mids),
    literal(lead.companyKeys),
    literal(lead.salesKeys),
    owners(lead),
    ...lead.columns,
    literal(contact.mids),
    literal(contact.companyKeys),
    literal(contact.salesKeys),
    accounts,
    owners(contact),
    ...contact.columns,
  ];
}

/** Texts (null = SQL NULL) as an array literal. */
function literal(values: readonly (string | null)[]): string {
  return arrayLiteralOf(values.map(arrayElement));
}

const UNIQUE_VIOLATION = '23505';

/**
 * CRM ids of the loaded companies and salespersons among these keys: one probe of the primary key
 * per distinct key (a few hundred to a few thousand per batch), whatever the plan.
 */
async function loadedTargets(client: pg.Pool | pg.PoolClient, staging: BootstrapStaging, runId: string, companies: string[], salesPersons: string[]): Promise<LoadedTargets> {
  const out: LoadedTargets = { companies: new Map(), salesPersons: new Map() };
  if (companies.length === 0 && salesPersons.length === 0) return out;
  // One branch per kind, each a probe of the primary key per key whatever the statistics say (an
  // OR of the two could be planned as a scan of the run's rows).
  const text = `SELECT 'company' AS kind, key, crm_id FROM ${staging.loaded} WHERE run_id = $1 AND kind = 'company' AND key = ANY($2::text[]) AND crm_id IS NOT NULL
    UNION ALL
    SELECT 'salesPerson', key, crm_id FROM ${staging.loaded} WHERE run_id = $1 AND kind = 'salesPerson' AND key = ANY($3::text[]) AND crm_id IS NOT NULL`;
  const { rows } = await client.query<{ kind: string; key: string; crm_id: string }>({
    name: statementName('bootstrap_targets', text),
    text,
    values: [runId, literal(companies), literal(salesPersons)],
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
  private readonly runs = new Map<string, Record<StagedKey[0], Set<string>>>();
  private static readonly MAX_RUNS = 4;
  private static readonly MAX_KEYS = 200_000;

  unknown(runId: string, companies: ReadonlySet<string>, salesPersons: ReadonlySet<string>): StagedKey[] {
    const known = this.runs.get(runId);
    const out: StagedKey[] = [];
    for (const k of companies) if (!known?.company.has(k)) out.push(['company', k]);
    for (const k of salesPersons) if (!known?.salesPerson.has(k)) out.push(['salesPerson', k]);
    return out;
  }

  add(runId: string, keys: readonly StagedKey[]): void {
    let known = this.runs.get(runId);
    if (!known || known.company.size + known.salesPerson.size + keys.length > KnownKeys.MAX_KEYS) {
      this.runs.delete(runId);
      if (this.runs.size >= KnownKeys.MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      this.runs.set(runId, (known = { company: new Set(), salesPerson: new Set() }));
    }
    for (const [kind, key] of keys) known[kind].add(key);
  }
}

/** A statement the database refused (constraint, conflict, bad value): the general path isolates it. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || code.length !== 5) return false;
  // Connection and shutdown errors: the activity retries, no other path would fare better.
  return !code.startsWith('08') && !code.startsWith('57');
}
