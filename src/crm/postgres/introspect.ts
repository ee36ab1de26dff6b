import type pg from 'pg';
import type { CrmEntityName, CrmField, CrmFieldType } from '../connector.js';
import { isValidIdentifier } from '../identifiers.js';
import { BUILTIN_COLUMNS, READ_ONLY_COLUMNS, STANDARD_TABLES, SYSTEM_COLUMNS, isStandardEntity, type EntityTable } from './entities.js';

export interface ColumnMeta {
  field: CrmField;
  /** SQL type as `format_type` prints it, for staging tables. */
  sqlType: string;
  /** 'int4' | 'int8' | ... for range checks of integers. */
  baseType: string;
}

export interface TableMeta extends EntityTable {
  columns: Map<string, ColumnMeta>;
}

const DOMAIN_TYPES: Record<string, CrmFieldType> = {
  email_address: 'email',
  phone_number: 'phone',
  web_url: 'url',
  currency_amount: 'currency',
  percent_value: 'percent',
};

interface ColumnRow {
  table_name: string;
  column_name: string;
  sql_type: string;
  base_type: string;
  domain_name: string | null;
  max_length: number | null;
  not_null: boolean;
  is_unique: boolean;
  ref_table: string | null;
}

/**
 * Reads the CRM's schema from the catalog, so columns added by provisioning or by a DBA show up
 * at the next describe. Columns whose names the connector could not safely address are skipped.
 */
export async function introspect(pool: pg.Pool, schema: string): Promise<Map<CrmEntityName, TableMeta>> {
  const tables: EntityTable[] = Object.values(STANDARD_TABLES);
  const custom = await pool.query<{ name: string; table_name: string }>(`SELECT name, table_name FROM ${pgIdent(schema)}.custom_objects ORDER BY name`);
  for (const row of custom.rows) tables.push({ entity: `custom:${row.name}`, table: row.table_name, label: row.name, idPrefix: 'X' });
  const byTable = new Map(tables.map((t) => [t.table, t]));

  const { rows } = await pool.query<ColumnRow>(
    `SELECT c.relname AS table_name, a.attname AS column_name,
            format_type(a.atttypid, a.atttypmod) AS sql_type,
            coalesce(bt.typname, t.typname) AS base_type,
            CASE WHEN t.typtype = 'd' THEN t.typname END AS domain_name,
            CASE WHEN coalesce(bt.typname, t.typname) IN ('varchar', 'bpchar')
                 THEN nullif(CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, -1) - 4 END AS max_length,
            a.attnotnull AS not_null,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1 AND i.indkey[0] = a.attnum) AS is_unique,
            (SELECT rc.relname FROM pg_constraint fk JOIN pg_class rc ON rc.oid = fk.confrelid
              WHERE fk.conrelid = c.oid AND fk.contype = 'f' AND fk.conkey = ARRAY[a.attnum] LIMIT 1) AS ref_table
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
     WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname = ANY($2::text[])
     ORDER BY c.relname, a.attnum`,
    [schema, [...byTable.keys()]],
  );

  const metas = new Map<CrmEntityName, TableMeta>();
  for (const t of tables) metas.set(t.entity, { ...t, columns: new Map() });
  for (const row of rows) {
    const table = byTable.get(row.table_name);
    if (!table || !isValidIdentifier(row.column_name)) continue;
    const type = fieldType(row);
    if (!type) continue;
    const meta = metas.get(table.entity)!;
    const builtin = isStandardEntity(table.entity) ? BUILTIN_COLUMNS[table.entity] : undefined;
    const readOnly = isStandardEntity(table.entity) ? READ_ONLY_COLUMNS[table.entity] : undefined;
    const refEntity = row.ref_table ? byTable.get(row.ref_table)?.entity : undefined;
    const field: CrmField = {
      name: row.column_name,
      type: refEntity ? 'reference' : type,
      nullable: !row.not_null,
      updateable: !SYSTEM_COLUMNS.has(row.column_name) && !readOnly?.has(row.column_name),
      unique: row.is_unique,
      custom: !SYSTEM_COLUMNS.has(row.column_name) && (builtin ? !builtin.has(row.column_name) : !CUSTOM_OBJECT_COLUMNS.has(row.column_name)),
    };
    if (row.max_length && row.max_length > 0) field.length = row.max_length;
    if (refEntity) field.references = refEntity;
    meta.columns.set(row.column_name, { field, sqlType: row.sql_type, baseType: row.base_type });
  }
  return metas;
}

/** Columns every custom-object table gets from provisioning (not custom fields of the object). */
export const CUSTOM_OBJECT_COLUMNS = new Set(['marketo_guid', 'lead_id', 'contact_id', 'account_id']);

function fieldType(row: ColumnRow): CrmFieldType | undefined {
  if (row.domain_name && DOMAIN_TYPES[row.domain_name]) return DOMAIN_TYPES[row.domain_name];
  switch (row.base_type) {
    case 'varchar':
    case 'bpchar':
    case 'uuid':
      return 'string';
    case 'text':
      return 'text';
    case 'int2':
    case 'int4':
    case 'int8':
      return 'integer';
    case 'numeric':
    case 'float4':
    case 'float8':
      return 'decimal';
    case 'bool':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamptz':
    case 'timestamp':
      return 'datetime';
    default:
      return undefined;
  }
}

function pgIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
