import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { z } from 'zod';
import { CrmError, CrmFieldType } from '../connector.js';
import { assertIdentifier, quoteIdent } from '../identifiers.js';
import { TRACKED_COLUMNS, trackedTableDdl } from './crm-schema.js';
import { customObjectTable } from './entities.js';
import type { TableMeta } from './introspect.js';

export const FieldSpec = z.object({
  /** Column name; validated against the identifier pattern, never interpolated raw. */
  name: z.string().min(1),
  type: CrmFieldType,
  length: z.number().int().min(1).max(10_485_760).optional(),
});
export type FieldSpec = z.infer<typeof FieldSpec>;

export const CustomObjectSpec = z.object({
  name: z.string().min(1),
  fields: z.array(FieldSpec),
  /** Fields that identify a record (Marketo's dedupeFields, as column names). */
  dedupeFields: z.array(z.string().min(1)).min(1),
  /** Parent records this object links to: adds lead_id / contact_id / account_id columns. */
  links: z.array(z.enum(['lead', 'contact', 'account'])).default([]),
});
export type CustomObjectSpec = z.input<typeof CustomObjectSpec>;

export interface ProvisionResult {
  created: boolean;
  entity: string;
  name: string;
}

/** Column types per field type; the domains live in the CRM schema, hence `s` (the quoted schema). */
const SQL_TYPES: Record<CrmFieldType, (length: number | undefined, s: string) => string> = {
  string: (n) => `varchar(${n ?? 255})`,
  text: () => 'text',
  email: (_n, s) => `${s}.email_address`,
  phone: (_n, s) => `${s}.phone_number`,
  url: (_n, s) => `${s}.web_url`,
  integer: () => 'integer',
  decimal: () => 'numeric',
  currency: (_n, s) => `${s}.currency_amount`,
  percent: (_n, s) => `${s}.percent_value`,
  boolean: () => 'boolean',
  date: () => 'date',
  datetime: () => 'timestamptz',
  reference: () => 'varchar(40)',
};

const LINK_TABLES = { lead: 'leads', contact: 'contacts', account: 'accounts' } as const;

export async function provisionField(pool: pg.Pool, schema: string, table: TableMeta, spec: FieldSpec): Promise<ProvisionResult> {
  const field = FieldSpec.parse(spec);
  const column = quoteIdent(field.name, 'field name');
  const existing = table.columns.get(field.name);
  if (existing) {
    if (existing.field.type !== field.type) {
      throw new CrmError('FIELD_TYPE_CONFLICT', `field '${field.name}' of ${table.entity} exists as ${existing.field.type}, not ${field.type}`);
    }
    return { created: false, entity: table.entity, name: field.name };
  }
  await pool.query(
    `ALTER TABLE ${escapeIdentifier(schema)}.${quoteIdent(table.table, 'table name')} ADD COLUMN IF NOT EXISTS ${column} ${SQL_TYPES[field.type](field.length, escapeIdentifier(schema))}`,
  );
  return { created: true, entity: table.entity, name: field.name };
}

export async function provisionCustomObject(pool: pg.Pool, schema: string, input: CustomObjectSpec): Promise<ProvisionResult> {
  const spec = CustomObjectSpec.parse(input);
  const table = customObjectTable(spec.name);
  const entity = `custom:${assertIdentifier(spec.name, 'custom object name')}`;
  const names = new Set(spec.fields.map((f) => assertIdentifier(f.name, 'field name')));
  for (const d of spec.dedupeFields) {
    if (!names.has(d)) throw new CrmError('INVALID_SPEC', `dedupe field '${d}' of custom object ${spec.name} is not one of its fields`);
  }
  const s = escapeIdentifier(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`provision:${schema}:${table}`]);
    const exists = await client.query('SELECT 1 FROM ' + s + '.custom_objects WHERE name = $1', [spec.name]);
    if (exists.rowCount) {
      await client.query('COMMIT');
      return { created: false, entity, name: spec.name };
    }
    await client.query(`SET LOCAL search_path TO ${s}, public`);
    const columns = [
      TRACKED_COLUMNS,
      'marketo_guid varchar(36) UNIQUE',
      ...spec.links.map((l) => `${l}_id varchar(40) REFERENCES ${LINK_TABLES[l]} (id) ON DELETE CASCADE`),
      ...spec.fields.map((f) => `${quoteIdent(f.name, 'field name')} ${SQL_TYPES[f.type](f.length, s)}`),
      `UNIQUE (${spec.dedupeFields.map((d) => quoteIdent(d, 'field name')).join(', ')})`,
    ];
    await client.query(`CREATE TABLE ${quoteIdent(table, 'table name')} (${columns.join(',\n')})`);
    await client.query(
      trackedTableDdl(table, entity, 'X', ['marketo_guid', ...spec.dedupeFields], (n) => quoteIdent(n), escapeLiteral),
    );
    await client.query(`INSERT INTO custom_objects (name, table_name, dedupe_fields) VALUES ($1, $2, $3)`, [spec.name, table, spec.dedupeFields]);
    await client.query('COMMIT');
    return { created: true, entity, name: spec.name };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
