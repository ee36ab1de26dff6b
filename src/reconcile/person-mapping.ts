import type { CrmConnector, CrmDescribe, CrmRecord } from '../crm/connector.js';
import { compileToCrm, compileToCrmPlan, routeLead, type FieldStep, type MapOutcome, type MarketoRecord } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/mapping-config.js';
import { MarketoSchemas } from '../mapping/marketo-schema.js';
import { suggestMapping } from '../mapping/suggest.js';
import type { MarketoClient } from '../marketo/index.js';
import { textOrNull } from '../marketo/values.js';

export type PersonType = 'lead' | 'contact';

/** References a person carries whose target (account, user) a later bootstrap phase loads. */
export interface PersonRefs {
  externalCompanyId: string | null;
  externalSalesPersonId: string | null;
}

export interface MappedPerson {
  type: PersonType;
  marketoId: string;
  /** The CRM record without reference fields (their targets may not exist yet). */
  outcome: MapOutcome<CrmRecord>;
  refs: PersonRefs;
}

/**
 * Everything needed to turn a Marketo lead (bulk CSV row or REST record) into the CRM record it
 * must become: the current mapping (or the suggested one when none is saved), compiled once.
 * Reference fields (owner, account) are left out: they are linked once their targets are loaded.
 */
export interface PersonMapping {
  config: MappingConfig;
  /** Marketo lead fields to export: the mapped ones plus the keys the bootstrap needs. */
  exportFields: string[];
  /** CRM fields each type receives from Marketo, references excluded (what reconcile compares). */
  comparedFields: Record<PersonType, string[]>;
  map(row: MarketoRecord): MappedPerson;
  /**
   * What `map` does per type, for writers that encode rows straight into their own form: the
   * field steps (references have keep false) and the required CRM fields (a null becomes false
   * for a boolean, and leaves any other field out of the record).
   */
  plan: Record<PersonType, { steps: FieldStep[]; required: { name: string; boolean: boolean }[] }>;
}

const KEY_FIELDS = ['id', 'externalCompanyId', 'externalSalesPersonId'];

/** Describe results as the mapping wants them; objects whose describe the mapping cannot read are left out. */
export async function readMarketoSchemas(marketo: MarketoClient): Promise<MarketoSchemas> {
  const lead = await marketo.describe.leads2();
  const input: Record<string, unknown> = { lead };
  for (const [name, read] of [
    ['company', () => marketo.describe.companies()],
    ['salesPerson', () => marketo.describe.salesPersons()],
  ] as const) {
    // Through JSON, as the schema cache stores it: the client parses datetimes into Dates, while the
    // mapping's schemas take the wire's strings (otherwise both describes were silently dropped).
    const meta: unknown = JSON.parse(JSON.stringify(await read()));
    if (MarketoSchemas.shape.company.safeParse(meta).success) input[name] = meta;
  }
  return MarketoSchemas.parse(input);
}

export function buildPersonMapping(config: MappingConfig, schemas: MarketoSchemas, describe: CrmDescribe, options: { csv: boolean }): PersonMapping {
  const types: PersonType[] = ['lead', 'contact'];
  const compiled = new Map<PersonType, (r: MarketoRecord) => MapOutcome<CrmRecord>>();
  const required = new Map<PersonType, { name: string; boolean: boolean }[]>();
  const comparedFields = { lead: [] as string[], contact: [] as string[] };
  const plan = {} as PersonMapping['plan'];
  const exportFields = new Set<string>(KEY_FIELDS);
  const leadFields = new Set(schemas.lead.fields.map((f) => f.name));
  for (const type of types) {
    const entity = config.entities.find((e) => e.marketo === 'lead' && e.crm === type);
    const crmEntity = describe.entities.find((e) => e.name === type);
    if (!entity?.enabled || !crmEntity) throw new Error(`the mapping has no enabled Marketo lead ⇄ CRM ${type} entity`);
    const refs = new Set(crmEntity.fields.filter((f) => f.type === 'reference').map((f) => f.name));
    required.set(type, crmEntity.fields.filter((f) => !f.nullable && f.updateable).map((f) => ({ name: f.name, boolean: f.type === 'boolean' })));
    // Reference fields are converted (a bad value still fails the record) but not written: deleting
    // them from every mapped record afterwards turned each record into a slow dictionary object.
    compiled.set(type, compileToCrm(config, 'lead', type, schemas, describe, { csvNulls: options.csv, omit: refs }));
    plan[type] = { steps: compileToCrmPlan(config, 'lead', type, schemas, describe, { csvNulls: options.csv, omit: refs }), required: required.get(type)! };
    for (const f of entity.fields) {
      if (!f.enabled || f.direction === 'toMarketo' || !leadFields.has(f.marketo)) continue;
      if (!crmEntity.fields.some((c) => c.name === f.crm)) continue;
      exportFields.add(f.marketo);
      if (!refs.has(f.crm)) comparedFields[type].push(f.crm);
    }
  }
  const idField = config.leadKey.crmMarketoIdField;
  return {
    config,
    exportFields: [...exportFields].filter((f) => leadFields.has(f)),
    comparedFields,
    plan,
    map(row) {
      const type = routeLead(config, row);
      const outcome = compiled.get(type)!(row);
      // Marketo shows an unset checkbox as false; a NOT NULL CRM column cannot hold its null.
      // Other required columns keep their CRM default rather than fail the whole record.
      for (const f of required.get(type)!) {
        if (outcome.record[f.name] !== null) continue;
        if (f.boolean) outcome.record[f.name] = false;
        else delete outcome.record[f.name];
      }
      const marketoId = textOrNull(row.id);
      if (marketoId === null) throw new Error('a lead row without its id column: the export must include id');
      // The key of every Marketo → CRM person write, whatever the mapping says about `id`.
      outcome.record[idField] = Number(marketoId);
      return {
        type,
        marketoId,
        outcome,
        refs: { externalCompanyId: textOrNull(row.externalCompanyId), externalSalesPersonId: textOrNull(row.externalSalesPersonId) },
      };
    },
  };
}

/** The saved mapping, or the suggestion from both describes when the operator saved none yet. */
export async function loadPersonMapping(
  deps: { marketo: MarketoClient; crm: Pick<CrmConnector, 'describe'>; currentMapping: () => Promise<MappingConfig | undefined> },
  options: { csv: boolean },
): Promise<PersonMapping> {
  const schemas = await readMarketoSchemas(deps.marketo);
  const describe = await deps.crm.describe();
  const config = (await deps.currentMapping()) ?? suggestMapping(schemas, describe);
  return buildPersonMapping(config, schemas, describe, options);
}
