/**
 * The SQL route of bench/ingest-ceiling.ts: Postgres parses the lead export itself. The file's
 * bytes go unchanged into an UNLOGGED staging table of text columns (COPY ... FORMAT csv), then
 * one INSERT ... SELECT per person table maps the columns with the casts the mapping's CRM types
 * need and writes the id map from what the insert returns, as the product's batch statement
 * does (activities/bootstrap-person-batch.ts). Everything is generated from the product's own
 * compiled person mapping (`PersonMapping.plan`, `personColumns`, `stepColumns`), so the columns
 * written are the product's, and a mapping this route cannot express exactly fails loudly here.
 *
 * What it leaves out of the product's per-record work (valid input leaves the same rows; bad
 * input fails the whole statement instead of one record going to the error ledger):
 *   - the email pattern (`x@y.z`) of the transform and the connector: only the trim is done, the
 *     CRM's domain check (`position('@') > 1`) still applies;
 *   - the per-record isolation: a cast, length or NOT NULL failure aborts the statement, no
 *     ledger entry, no DUPLICATE_IN_BATCH failure (a duplicate id violates the unique key);
 *   - integers written as whole decimals ("40.0") and the NUL-character check of text;
 *   - JavaScript's trim (Unicode white space) is btrim (spaces) for email, integers and booleans
 *     are trimmed by the casts themselves;
 *   - the ledger's resolve of open entries (none exist in a fresh bootstrap).
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import { personColumns, stepColumns, type PersonColumns } from '../activities/bootstrap-person-encoder.js';
import type { BootstrapStaging } from '../activities/bootstrap-staging.js';
import { CRM_FAMILY } from '../src/mapping/types.js';
import type { TableMeta } from '../src/crm/postgres/introspect.js';
import type { PersonMapping, PersonType } from '../src/reconcile/person-mapping.js';

const TRUE = `('true', 't', '1', 'yes', 'y')`;
const FALSE = `('false', 'f', '0', 'no', 'n')`;

export interface SqlRoute {
  /** The staging table's DDL: one text column per file column, named as the header names it. */
  stagingDdl(table: string): string;
  /** COPY of the file bytes into the staging table; HEADER MATCH refuses a file whose header differs. */
  copy(table: string): string;
  /**
   * The persons of one type from the staging table into `target` (default the CRM table), with
   * their id map rows unless `idMap` is false. Parameter $1: the run id (loaded targets).
   */
  persons(type: PersonType, staging: string, options?: { target?: string; idMap?: boolean }): string;
  /** Persons whose company or salesperson is not loaded yet, staged for the link steps as the product stages them ($1: run id). */
  pendingRefs(staging: string): string;
  /** The distinct company and salesperson keys the rows name, as the product stages them ($1: run id). */
  keys(staging: string): string;
}

/** A cell as the product's parser and transforms read it: `null` (Marketo's empty) and '' are null. */
function cell(staging: string, field: string): string {
  return `nullif(nullif(${staging}.${escapeIdentifier(field)}, 'null'), '')`;
}

/** Whether the mapping's config asks for a picklist translation or truncation of this step. */
function stepOptions(mapping: PersonMapping, type: PersonType, from: string, to: string): { valueMap?: Record<string, string>; truncate?: boolean } {
  const entity = mapping.config.entities.find((e) => e.marketo === 'lead' && e.crm === type);
  const field = entity?.fields.find((f) => f.enabled && f.marketo === from && f.crm === to && f.direction !== 'toMarketo');
  return { ...(field?.valueMap ? { valueMap: field.valueMap } : {}), ...(field?.truncate ? { truncate: true } : {}) };
}

/** The SQL expression a step's CRM column gets, as the transform and the column check would make it. */
function columnExpression(mapping: PersonMapping, shape: PersonColumns, column: number, from: string, s: string): string {
  const meta = shape.columns[column]!;
  const field = meta.field;
  const { valueMap, truncate } = stepOptions(mapping, shape.type, from, field.name);
  if (valueMap && Object.keys(valueMap).length > 0) throw new Error(`the SQL route has no picklist translation: ${shape.type}.${field.name} maps values`);
  const v = cell(s, from);
  switch (CRM_FAMILY[field.type]) {
    case 'text':
    case 'reference': {
      const text = field.type === 'email' ? `btrim(${v})` : v;
      // Truncation counts code points, as Postgres' left() counts characters of UTF-8 text.
      return truncate && field.length !== undefined ? `left(${text}, ${field.length})` : text;
    }
    case 'integer':
    case 'decimal':
    case 'date':
    case 'datetime':
      return `(${v})::${meta.sqlType}`;
    case 'boolean': {
      // An unknown spelling stays NULL: the NOT NULL column refuses it, a nullable one would not.
      if (field.nullable) throw new Error(`the SQL route cannot refuse a bad value of the nullable boolean ${shape.type}.${field.name}`);
      return `CASE WHEN ${v} IS NULL THEN false WHEN lower(btrim(${v})) IN ${TRUE} THEN true WHEN lower(btrim(${v})) IN ${FALSE} THEN false END`;
    }
  }
}

export function sqlRoute(mapping: PersonMapping, tables: Record<PersonType, TableMeta>, crmSchema: string, staging: BootstrapStaging, header: readonly string[]): SqlRoute {
  const shapes = { lead: personColumns(mapping, 'lead', tables.lead), contact: personColumns(mapping, 'contact', tables.contact) };
  for (const [type, shape] of Object.entries(shapes)) if (!shape) throw new Error(`the product's batch writer does not cover the ${type} mapping: no SQL route for it`);
  const columnsOf = (type: PersonType) => shapes[type]!;
  const missing = mapping.exportFields.filter((f) => !header.includes(f));
  if (missing.length > 0) throw new Error(`the export file lacks the mapping's fields ${missing.join(', ')}`);
  const routing = mapping.config.leadRouting;
  if (routing.by !== 'externalCompanyId') throw new Error(`the SQL route routes by externalCompanyId only (the mapping routes by ${routing.by})`);
  const s = 's';
  const company = cell(s, 'externalCompanyId');
  const owner = cell(s, 'externalSalesPersonId');
  const isContact = `${company} IS NOT NULL`;
  const key = (type: PersonType) => columnsOf(type).key;
  const loaded = staging.loaded;

  return {
    stagingDdl(table) {
      return `CREATE UNLOGGED TABLE ${table} (${header.map((h) => `${escapeIdentifier(h)} text`).join(', ')})`;
    },
    copy(table) {
      return `COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER MATCH)`;
    },
    persons(type, stagingTable, options = {}) {
      const shape = columnsOf(type);
      const targets = stepColumns(mapping, shape);
      const required = new Set(mapping.plan[type].required.filter((r) => !r.boolean).map((r) => r.name));
      const names: string[] = [escapeIdentifier(key(type).field.name)];
      const values: string[] = [`(${s}.${escapeIdentifier('id')})::${key(type).sqlType}`];
      mapping.plan[type].steps.forEach((step, i) => {
        const column = targets[i]!;
        if (column < 0) return;
        const name = shape.columns[column]!.field.name;
        // The product leaves such a column out when null (its CRM default); no mapping here does.
        if (required.has(name)) throw new Error(`the SQL route cannot default the required column ${type}.${name}`);
        names.push(escapeIdentifier(name));
        values.push(columnExpression(mapping, shape, column, step.from, s));
      });
      const joins: string[] = [];
      if (shape.table.columns.has('owner_id')) {
        names.push('owner_id');
        values.push('o.crm_id');
        joins.push(`LEFT JOIN ${loaded} o ON o.run_id = $1 AND o.kind = 'salesPerson' AND o.key = ${owner} AND o.crm_id IS NOT NULL`);
      }
      if (type === 'contact' && shape.table.columns.has('account_id')) {
        names.push('account_id');
        values.push('a.crm_id');
        joins.push(`LEFT JOIN ${loaded} a ON a.run_id = $1 AND a.kind = 'company' AND a.key = ${company} AND a.crm_id IS NOT NULL`);
      }
      const target = options.target ?? `${escapeIdentifier(crmSchema)}.${escapeIdentifier(shape.table.table)}`;
      const insert = `INSERT INTO ${target} AS t (${names.join(', ')})
        SELECT ${values.join(',\n               ')}
        FROM ${stagingTable} ${s} ${joins.join(' ')}
        WHERE ${type === 'contact' ? isContact : `NOT (${isContact})`}`;
      if (options.idMap === false) return insert;
      const keyName = escapeIdentifier(key(type).field.name);
      return `WITH ins AS (${insert}
        RETURNING t.id, t.${keyName} AS mid)
      INSERT INTO ${staging.qschema}.id_map (entity, marketo_id, crm_type, crm_id) SELECT 'lead', mid::text, ${escapeLiteral(type)}, id FROM ins`;
    },
    pendingRefs(stagingTable) {
      // As the batch statement's `stg`: a lead whose owner is not loaded; a contact whose account or owner is not.
      return `INSERT INTO ${staging.personRefs} (run_id, marketo_lead_id, person_type, external_company_id, external_sales_person_id, account_linked, owner_linked)
        SELECT $1, (${s}.${escapeIdentifier('id')})::bigint, CASE WHEN ${isContact} THEN 'contact' ELSE 'lead' END, ${company}, ${owner},
               ${isContact} AND a.crm_id IS NOT NULL, o.crm_id IS NOT NULL
        FROM ${stagingTable} ${s}
        LEFT JOIN ${loaded} o ON o.run_id = $1 AND o.kind = 'salesPerson' AND o.key = ${owner} AND o.crm_id IS NOT NULL
        LEFT JOIN ${loaded} a ON a.run_id = $1 AND a.kind = 'company' AND a.key = ${company} AND a.crm_id IS NOT NULL
        WHERE (${owner} IS NOT NULL AND o.crm_id IS NULL) OR (${isContact} AND a.crm_id IS NULL)`;
    },
    keys(stagingTable) {
      return `INSERT INTO ${staging.keys} (run_id, kind, key)
        SELECT $1, u.kind, u.key FROM (
          SELECT DISTINCT 'company' AS kind, ${company} AS key FROM ${stagingTable} ${s} WHERE ${company} IS NOT NULL
          UNION SELECT DISTINCT 'salesPerson', ${owner} FROM ${stagingTable} ${s} WHERE ${owner} IS NOT NULL) u
        WHERE NOT EXISTS (SELECT 1 FROM ${staging.keys} k WHERE k.run_id = $1 AND k.kind = u.kind AND k.key = u.key)
        ON CONFLICT DO NOTHING`;
    },
  };
}
