import type { MappingConfig } from '../../src/mapping/mapping-config.js';
import { loadPersonMapping, type PersonMapping } from '../../src/reconcile/person-mapping.js';
import { writeLeadBatch } from '../bootstrap-leads.js';
import { BootstrapStaging } from '../bootstrap-staging.js';
import type { IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';

/**
 * Exported leads → CRM leads/contacts through the shared person writer, staging each person's
 * company and salesperson keys for the later phases. The mapping (three describe calls) is loaded
 * once per worker process, not once per window.
 */
export function leadsSink(deps: IngestSinkDeps): IngestSinkImpl<'leads'> {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  let personMapping: Promise<PersonMapping> | undefined;
  const mapping = (): Promise<PersonMapping> => {
    personMapping ??= loadPersonMapping(
      { marketo: deps.marketo, crm: deps.crm, currentMapping: async (): Promise<MappingConfig | undefined> => (await deps.store.mappings.current())?.config },
      { csv: true },
    ).catch((err: unknown) => {
      personMapping = undefined;
      throw err;
    });
    return personMapping;
  };
  return {
    rowKind: 'leads',
    async exportRequest(_source, window) {
      return { format: 'CSV', fields: (await mapping()).exportFields, filter: { createdAt: window } };
    },
    async write(rows, ctx) {
      return writeLeadBatch({ crm: deps.crm, store: deps.store, staging }, await mapping(), ctx.runId, rows);
    },
  };
}
