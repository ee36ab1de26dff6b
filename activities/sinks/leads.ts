import { Context } from '@temporalio/activity';
import type { MappingConfig } from '../../src/mapping/mapping-config.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { textOrNull } from '../../src/marketo/values.js';
import { loadPersonMapping, type PersonMapping } from '../../src/reconcile/person-mapping.js';
import { writeLeadBatch } from '../bootstrap-leads.js';
import { PreloadError, referencePreloader, type PreloadKind, type ReferencePreloader } from '../bootstrap-reference-preload.js';
import { BootstrapStaging } from '../bootstrap-staging.js';
import type { IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';
import type { LoadedAlongside } from '../../workflows/bootstrap-types.js';
import { salesObjectLoader } from '../sales-object-loader.js';

const KEY_FIELD: Record<PreloadKind, 'externalCompanyId' | 'externalSalesPersonId'> = { company: 'externalCompanyId', salesPerson: 'externalSalesPersonId' };

function keysOf(rows: readonly RecordRow[], field: string): string[] {
  const keys = new Set<string>();
  for (const row of rows) {
    const key = textOrNull(row[field]);
    if (key !== null) keys.add(key);
  }
  return [...keys];
}

/** A preload that failed leaves its persons to the link steps: worth a line in the log, not a failed batch. */
function warn(message: string, meta: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, meta);
  } catch {
    // Called outside an activity (tests, benchmarks): no activity logger to write to.
  }
}

/**
 * Exported leads → CRM leads/contacts through the shared person writer, staging each person's
 * company and salesperson keys for the later phases. The mapping (three describe calls) is loaded
 * once per worker process, not once per window. When the window's source asks for it (`preload`,
 * set by the leads phase for the enabled companies and salespersons phases), the companies and
 * salespersons a batch names are loaded first, so its persons are written linked.
 */
export function leadsSink(deps: IngestSinkDeps, options: { preloader?: ReferencePreloader } = {}): IngestSinkImpl<'leads'> {
  const staging = new BootstrapStaging(deps.store.pool, deps.store.schema);
  // One per sink, so one per worker process; a benchmark may bring another to compare.
  const preloader = options.preloader ?? referencePreloader(salesObjectLoader(deps));
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
      const kinds = ctx.source.kind === 'leads' ? (ctx.source.preload ?? []) : [];
      const loads = await Promise.all(
        kinds.map(async (kind) => {
          try {
            return [kind, await preloader.preload(ctx.runId, kind, keysOf(rows, KEY_FIELD[kind]))] as const;
          } catch (err) {
            warn('loading the records a lead batch names failed; its persons are linked later', { kind, error: err instanceof Error ? err.message : String(err) });
            // Calls of the batch that did succeed still count (each call is credited to one batch only).
            return err instanceof PreloadError ? ([kind, err.loaded] as const) : undefined;
          }
        }),
      );
      const write = async () => writeLeadBatch({ crm: deps.crm, store: deps.store, staging }, await mapping(), ctx.runId, rows);
      // While this batch writes, partial Gets of the run wait for the keys of the batch that follows it.
      const out = kinds.length > 0 ? await preloader.writing(ctx.runId, write) : await write();
      // Counted into the companies and salespersons phases (the parent adds them there), not the leads phase.
      const loaded: LoadedAlongside = {};
      for (const l of loads) if (l && l[1].apiCalls + l[1].records > 0) loaded[l[0]] = l[1];
      return Object.keys(loaded).length > 0 ? { ...out, loaded } : out;
    },
  };
}
