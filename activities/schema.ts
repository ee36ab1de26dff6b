import crypto from 'node:crypto';
import type { MarketoClient } from '../src/marketo/index.js';
import type { SchemaCacheRepository } from '../src/store/schema-cache.js';
import { marketoCall } from './failures.js';

export interface SchemaObjectSummary {
  object: string;
  fields: number;
}

/** What a schema refresh returns to the workflow: counts and a fingerprint, never the schema itself. */
export interface SchemaRefreshSummary {
  objects: SchemaObjectSummary[];
  /** sha256 of the fetched Describe results: a changed value means the mapping must be re-validated. */
  fingerprint: string;
  apiCalls: number;
}

export interface SchemaActivityDeps {
  marketo: MarketoClient;
  schemaCache: Pick<SchemaCacheRepository, 'put'>;
}

/** Canonical JSON (sorted keys) so the fingerprint does not depend on property order on the wire. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function createSchemaActivities({ marketo, schemaCache }: SchemaActivityDeps) {
  return {
    /**
     * Reads every Describe endpoint (the only source of truth for schemas), stores the results in
     * the schema cache and returns a summary. Cost: 6 calls plus one per custom object type.
     */
    async refreshMarketoSchema(): Promise<SchemaRefreshSummary> {
      return marketoCall(async () => {
        const described: [string, unknown, number][] = [];
        const lead = await marketo.describe.leads2();
        described.push(['lead', lead, lead.fields.length]);
        for (const [name, read] of [
          ['company', () => marketo.describe.companies()],
          ['opportunity', () => marketo.describe.opportunities()],
          ['opportunityRole', () => marketo.describe.opportunityRoles()],
          ['salesPerson', () => marketo.describe.salesPersons()],
        ] as const) {
          const meta = await read();
          described.push([name, meta, meta.fields?.length ?? 0]);
        }
        const customTypes = await marketo.describe.customObjects();
        for (const type of customTypes) {
          const meta = await marketo.describe.customObject(type.name);
          described.push([`customObject:${type.name}`, meta, meta.fields?.length ?? 0]);
        }
        for (const [object, describe] of described) await schemaCache.put('marketo', object, describe);
        const hash = crypto.createHash('sha256');
        for (const [object, describe] of described) hash.update(`${object}\n${canonical(describe)}\n`);
        return {
          objects: described.map(([object, , fields]) => ({ object, fields })),
          fingerprint: hash.digest('hex'),
          // One describe per object plus the custom object listing (token fetches are not API calls).
          apiCalls: described.length + 1,
        };
      });
    },
  };
}

export type SchemaActivities = ReturnType<typeof createSchemaActivities>;
