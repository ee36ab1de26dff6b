import pg from 'pg';
import { reconcile } from '../src/reconcile/index.js';
import { LOADED_ACTIVITY_TYPES } from './bootstrap-run.js';
import type { Scenario } from './scenario.js';

/** What a case is judged on: nothing lost, nothing twice, nothing different. */
export interface Verdict {
  /**
   * Marketo records the CRM does not hold, over every checked entity: persons, the sales objects,
   * custom object records, programs and their members, static lists and theirs, activities.
   */
  lost: number;
  /** Marketo keys held by more than one CRM record (reconciliation + duplicate-key queries). */
  duplicates: number;
  /** Extra, misrouted or field-mismatched records. */
  differences: number;
  marketoRecords: number;
  crmRecords: number;
  /** One line for the report: counts and, for differences, field names (never values). */
  detail: string;
}

/**
 * Entities every check reconciles: persons, the sales objects and the marketing data the
 * bootstrap loads (`customObjects` is every type the saved mapping enables; `programs` and
 * `staticLists` include their membership).
 */
export const CHECKED_ENTITIES = ['persons', 'companies', 'salespersons', 'opportunities', 'roles', 'customObjects', 'programs', 'staticLists', 'activities'] as const;

/** How the outcome line names each reconciled entity (`persons` are the unnamed first count). */
export function entityLabel(entity: string): string {
  if (entity === 'persons') return '';
  if (entity.startsWith('customObject:')) return ` custom objects (${entity.slice('customObject:'.length)})`;
  const names: Record<string, string> = { programMembers: 'program members', staticLists: 'static lists', listMembers: 'list members' };
  return ` ${names[entity] ?? entity}`;
}

/**
 * Compares the emulator with the CRM through the project's reconciliation (`reconcile()`: leads
 * created in [since, until] by bulk export, CRM persons outside it by id, then companies,
 * salespersons, opportunities and roles, the mapped custom object types, programs and lists with
 * their members, and the loaded activity types created in [since, until]), after clearing every
 * fault (the check itself must not be disturbed), and runs the duplicate-key queries.
 */
export async function verifyLoad(s: Scenario, since: string, until: string): Promise<Verdict> {
  s.clearFaults();
  const result = await reconcile(
    { marketo: s.marketo, crm: s.crm, store: s.store },
    // The loaded types by name, not the types the CRM holds: a type lost whole must count as lost.
    { entities: [...CHECKED_ENTITIES], since, until, pollIntervalMs: 50, sample: 20, activityTypeIds: [...LOADED_ACTIVITY_TYPES] },
  );
  const keyDuplicates = await duplicateKeys(s.crm.pool);
  const parts: string[] = [];
  let lost = 0;
  let duplicates = 0;
  let differences = 0;
  let marketoRecords = 0;
  let crmRecords = 0;
  for (const e of result.entities) {
    lost += e.missingInCrm.count;
    duplicates += e.duplicates.count;
    differences += e.missingInMarketo.count + e.mismatched.count;
    marketoRecords += e.marketo;
    crmRecords += e.crm;
    const bits = [`${e.matched}/${e.marketo}${entityLabel(e.entity)} matched`];
    if (e.missingInCrm.count) bits.push(`missing ${e.missingInCrm.count} (e.g. ${e.missingInCrm.sample.slice(0, 3).join(', ')})`);
    if (e.missingInMarketo.count) bits.push(`extra ${e.missingInMarketo.count}`);
    if (e.mismatched.count) {
      const fields = [...new Set(e.mismatched.sample.flatMap((m) => m.fields))];
      bits.push(`mismatched ${e.mismatched.count} (fields: ${fields.join(', ') || 'n/a'})`);
    }
    if (e.duplicates.count) bits.push(`duplicated ${e.duplicates.count}`);
    parts.push(bits.join(', '));
  }
  if (keyDuplicates.total) parts.push(`duplicated by key ${keyDuplicates.total} (${keyDuplicates.where.join(', ')})`);
  return {
    lost,
    duplicates: Math.max(duplicates, keyDuplicates.total),
    differences,
    marketoRecords,
    crmRecords,
    detail: parts.join('; '),
  };
}

/**
 * Keys that must identify one CRM record: every UNIQUE constraint in the CRM schema, single-column
 * (the `marketo_*` keys of persons, roles, campaigns and members, lists and members, activities,
 * custom object GUIDs; the sales objects' external ids) or compound (a custom object's dedupe
 * fields, an opportunity's contact roles), queried anyway: the check must not rest on the
 * constraint it checks; and the Marketo lead id across leads and contacts together (a person is a
 * lead or a contact, never both). Tables provisioned during the run (`co_<name>`) are included.
 */
export async function duplicateKeys(pool: pg.Pool, schema = 'crm'): Promise<{ total: number; where: string[] }> {
  const { rows: constraints } = await pool.query<{ table_name: string; columns: string[] }>(
    `SELECT tc.table_name, array_agg(kcu.column_name::text ORDER BY kcu.ordinal_position) AS columns
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
      WHERE tc.table_schema = $1 AND tc.constraint_type = 'UNIQUE'
      GROUP BY tc.table_name, tc.constraint_name
      ORDER BY tc.table_name, tc.constraint_name`,
    [schema],
  );
  const where: string[] = [];
  let total = 0;
  const count = async (label: string, sql: string) => {
    const n = Number((await pool.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    if (n > 0) where.push(`${label}: ${n}`);
    total += n;
  };
  const s = pg.escapeIdentifier(schema);
  for (const c of constraints) {
    const t = `${s}.${pg.escapeIdentifier(c.table_name)}`;
    const cols = c.columns.map((col) => pg.escapeIdentifier(col));
    // NULLs are distinct under UNIQUE: only keys with every part set can be held twice.
    await count(
      `${c.table_name}.${c.columns.length === 1 ? c.columns[0] : `(${c.columns.join(', ')})`}`,
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${t} WHERE ${cols.map((col) => `${col} IS NOT NULL`).join(' AND ')} GROUP BY ${cols.join(', ')} HAVING count(*) > 1) d`,
    );
  }
  await count(
    'leads+contacts.marketo_lead_id',
    `SELECT count(*) AS n FROM (SELECT id FROM (SELECT marketo_lead_id AS id FROM ${s}.leads UNION ALL SELECT marketo_lead_id FROM ${s}.contacts) p
      WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1) d`,
  );
  return { total, where };
}

/** The UNIQUE keys the duplicate-key queries cover (table.column or table.(columns)), for the report. */
export async function uniqueKeysChecked(pool: pg.Pool, schema = 'crm'): Promise<string[]> {
  const { rows } = await pool.query<{ k: string }>(
    `SELECT tc.table_name || '.' || string_agg(kcu.column_name::text, '+' ORDER BY kcu.ordinal_position) AS k
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
      WHERE tc.table_schema = $1 AND tc.constraint_type = 'UNIQUE'
      GROUP BY tc.table_name, tc.constraint_name ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.k);
}

/** Rows in the CRM's person tables (leads + contacts). */
export async function crmPersons(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS n');
  return Number(rows[0]?.n ?? 0);
}

/**
 * Rows in every CRM table (persons, sales objects, campaigns and members, lists and members,
 * activities, provisioned custom object tables): grows during every bootstrap phase, where
 * `crmPersons` stops growing once the leads phase is done.
 */
export async function crmRows(pool: pg.Pool, schema = 'crm'): Promise<number> {
  const { rows: tables } = await pool.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [schema]);
  if (tables.length === 0) return 0;
  const s = pg.escapeIdentifier(schema);
  const { rows } = await pool.query<{ n: string }>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${s}.${pg.escapeIdentifier(t.t)})`).join(' + ')} AS n`);
  return Number(rows[0]?.n ?? 0);
}
