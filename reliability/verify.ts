import pg from 'pg';
import { reconcile } from '../src/reconcile/index.js';
import type { Scenario } from './scenario.js';

/** What a case is judged on: nothing lost, nothing twice, nothing different. */
export interface Verdict {
  /** Marketo persons the CRM does not hold. */
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

/** Entities every check reconciles: persons and the sales objects the bootstrap loads. */
export const CHECKED_ENTITIES = ['persons', 'companies', 'salespersons', 'opportunities', 'roles'] as const;

/**
 * Compares the emulator with the CRM through the project's reconciliation (`reconcile()`: leads
 * created in [since, until] by bulk export, CRM persons outside it by id, then companies,
 * salespersons, opportunities and roles), after clearing every fault (the check itself must not
 * be disturbed), and runs the duplicate-key queries.
 */
export async function verifyLoad(s: Scenario, since: string, until: string): Promise<Verdict> {
  s.clearFaults();
  const result = await reconcile({ marketo: s.marketo, crm: s.crm, store: s.store }, { entities: [...CHECKED_ENTITIES], since, until, pollIntervalMs: 50, sample: 20 });
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
    const name = e.entity === 'persons' ? '' : ` ${e.entity}`;
    const bits = [`${e.matched}/${e.marketo}${name} matched`];
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
 * Keys that must identify one CRM record: every UNIQUE-constrained `marketo_*` column in the CRM
 * schema (queried anyway: the check must not rest on the constraint it checks), and the Marketo
 * lead id across leads and contacts together (a person is a lead or a contact, never both).
 */
export async function duplicateKeys(pool: pg.Pool, schema = 'crm'): Promise<{ total: number; where: string[] }> {
  const { rows: columns } = await pool.query<{ table_name: string; column_name: string }>(
    `SELECT DISTINCT tc.table_name, kcu.column_name
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
      WHERE tc.table_schema = $1 AND tc.constraint_type = 'UNIQUE' AND kcu.column_name LIKE 'marketo\\_%'`,
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
  for (const c of columns) {
    const t = `${s}.${pg.escapeIdentifier(c.table_name)}`;
    const col = pg.escapeIdentifier(c.column_name);
    await count(`${c.table_name}.${c.column_name}`, `SELECT count(*) AS n FROM (SELECT ${col} FROM ${t} WHERE ${col} IS NOT NULL GROUP BY ${col} HAVING count(*) > 1) d`);
  }
  await count(
    'leads+contacts.marketo_lead_id',
    `SELECT count(*) AS n FROM (SELECT id FROM (SELECT marketo_lead_id AS id FROM ${s}.leads UNION ALL SELECT marketo_lead_id FROM ${s}.contacts) p
      WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1) d`,
  );
  return { total, where };
}

/** Rows in the CRM's person tables (leads + contacts). */
export async function crmPersons(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT (SELECT count(*) FROM crm.leads) + (SELECT count(*) FROM crm.contacts) AS n');
  return Number(rows[0]?.n ?? 0);
}
