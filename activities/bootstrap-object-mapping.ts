import { ApplicationFailure } from '@temporalio/common';
import type { CrmConnector, CrmRecord } from '../src/crm/connector.js';
import { compileToCrm, type MapOutcome, type MarketoRecord } from '../src/mapping/apply.js';
import type { MappingConfig } from '../src/mapping/mapping-config.js';
import { MarketoSchemas, type MarketoObjectName } from '../src/mapping/marketo-schema.js';
import { suggestMapping } from '../src/mapping/suggest.js';
import type { MarketoClient } from '../src/marketo/index.js';

/** The lead-database objects the sales phases load, and the CRM entity each becomes. */
export const SALES_OBJECTS = {
  company: { crm: 'account', keys: ['id', 'externalCompanyId', 'externalSalesPersonId'] },
  opportunity: { crm: 'opportunity', keys: ['marketoGUID', 'externalOpportunityId', 'externalCompanyId', 'externalSalesPersonId'] },
  opportunityRole: { crm: 'opportunityRole', keys: ['marketoGUID', 'externalOpportunityId', 'leadId', 'role'] },
  salesPerson: { crm: 'user', keys: ['id', 'externalSalesPersonId'] },
} as const satisfies Record<string, { crm: string; keys: readonly string[] }>;
export type SalesObject = keyof typeof SALES_OBJECTS;

export interface ObjectMapping {
  /** Fields to ask Marketo for: the mapped ones plus the keys the bootstrap needs. */
  fields: string[];
  /** The CRM record without reference fields (their targets are linked by the bootstrap itself). */
  map(record: MarketoRecord): MapOutcome<CrmRecord>;
}

/** Describes as the mapping wants them (through JSON: the client parses datetimes into Dates). */
async function readSchemas(marketo: MarketoClient): Promise<MarketoSchemas> {
  const input: Record<string, unknown> = { lead: await marketo.describe.leads2() };
  for (const [name, read] of [
    ['company', () => marketo.describe.companies()],
    ['opportunity', () => marketo.describe.opportunities()],
    ['opportunityRole', () => marketo.describe.opportunityRoles()],
    ['salesPerson', () => marketo.describe.salesPersons()],
  ] as const) {
    input[name] = JSON.parse(JSON.stringify(await read())) as unknown;
  }
  return MarketoSchemas.parse(input);
}

/**
 * The saved mapping (or the suggestion from both describes when none is saved) compiled once for
 * each sales object. An object the mapping does not carry into the CRM fails loudly: loading it
 * would write records holding nothing but keys.
 */
export async function loadObjectMappings(deps: {
  marketo: MarketoClient;
  crm: Pick<CrmConnector, 'describe'>;
  currentMapping: () => Promise<MappingConfig | undefined>;
}): Promise<Record<SalesObject, ObjectMapping>> {
  const schemas = await readSchemas(deps.marketo);
  const describe = await deps.crm.describe();
  const config = (await deps.currentMapping()) ?? suggestMapping(schemas, describe);
  const build = (name: SalesObject): ObjectMapping => {
    const { crm, keys } = SALES_OBJECTS[name];
    const entity = config.entities.find((e) => e.marketo === (name as MarketoObjectName) && e.crm === crm);
    const crmEntity = describe.entities.find((e) => e.name === crm);
    const meta = schemas[name];
    // A configuration problem: retrying cannot fix it, the operator must (mapping apply/refresh).
    if (!entity?.enabled || !crmEntity || !meta) throw ApplicationFailure.nonRetryable(`the mapping has no enabled Marketo ${name} ⇄ CRM ${crm} entity`, 'MappingIncomplete');
    const compiled = compileToCrm(config, name, crm, schemas, describe);
    const references = crmEntity.fields.filter((f) => f.type === 'reference').map((f) => f.name);
    const required = crmEntity.fields.filter((f) => !f.nullable && f.updateable).map((f) => ({ name: f.name, boolean: f.type === 'boolean' }));
    const described = new Set(meta.fields.map((f) => f.name));
    const fields = new Set<string>(keys);
    for (const f of entity.fields) if (f.enabled && f.direction !== 'toMarketo' && described.has(f.marketo)) fields.add(f.marketo);
    return {
      fields: [...fields].filter((f) => described.has(f)),
      map(record) {
        const outcome = compiled(record);
        for (const name of references) delete outcome.record[name];
        // An unset Marketo checkbox is false; other required columns keep their CRM default.
        for (const f of required) {
          if (outcome.record[f.name] !== null) continue;
          if (f.boolean) outcome.record[f.name] = false;
          else delete outcome.record[f.name];
        }
        return outcome;
      },
    };
  };
  return { company: build('company'), opportunity: build('opportunity'), opportunityRole: build('opportunityRole'), salesPerson: build('salesPerson') };
}
