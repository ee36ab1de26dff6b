import type { CrmRecord } from '../crm/connector.js';
import { toColumnName } from '../crm/identifiers.js';
import type { MarketoObjectName } from '../mapping/marketo-schema.js';
import type { MarketoObject } from '../marketo/index.js';
import { textOrNull } from '../marketo/values.js';
import type { ReconcileContext } from './context.js';
import { chunks, fetchByValues } from './fetch.js';
import { reconcileObjects } from './objects.js';
import { emptyReport, type EntityReport } from './report.js';
import type { Discovered } from './sales.js';

/**
 * Custom objects the mapping syncs (`customObject:<apiName>` ⇄ `custom:<name>`), keyed by the
 * object's dedupe fields (their mapped CRM columns). Marketo's side: the records of the CRM's keys
 * (by dedupe key, 300 a call) and, for types linked to leads, every record of the leads found
 * (by the link field, 300 lead ids a call).
 */
export async function reconcileCustomObjects(ctx: ReconcileContext, found: Discovered): Promise<EntityReport[]> {
  const [config, schemas] = await Promise.all([ctx.mapping(), ctx.schemas()]);
  const entities = config.entities.filter((e) => e.enabled && e.marketo.startsWith('customObject:'));
  const reports: EntityReport[] = [];
  for (const entity of entities) {
    const apiName = entity.marketo.slice('customObject:'.length);
    const name = `customObject:${apiName}`;
    const meta = schemas.customObjects[apiName];
    if (!meta) {
      const r = emptyReport(name);
      r.notes.push(`Marketo has no custom object ${apiName}: nothing compared`);
      reports.push(r);
      continue;
    }
    const columnOf = (marketoField: string): string => entity.fields.find((f) => f.enabled && f.marketo === marketoField && f.direction !== 'toMarketo')?.crm ?? toColumnName(marketoField);
    const dedupe = meta.dedupeFields;
    const dedupeColumns = dedupe.map(columnOf);
    const link = (meta.relationships ?? []).find((r) => r.type === 'parent' && r.relatedTo.name.toLowerCase() === 'lead' && r.relatedTo.field === 'id');
    const keyOf = (values: unknown[]): string | undefined => (values.every((v) => textOrNull(v) !== null) ? values.map(String).join('|') : undefined);
    const api = ctx.deps.marketo.customObject(apiName);
    reports.push(
      await reconcileObjects(ctx, {
        name,
        marketo: entity.marketo as MarketoObjectName,
        crm: entity.crm,
        marketoKey: (m) => keyOf(dedupe.map((d) => m[d])),
        marketoId: (m) => String(m.marketoGUID),
        crmKey: (r: CrmRecord) => keyOf(dedupeColumns.map((c) => r[c])) ?? `(CRM record ${String(r.id)} without its key)`,
        keyCrmFields: ['id', 'marketo_guid', 'lead_id', 'contact_id', 'account_id', ...dedupeColumns],
        fetch: async (crmKeys, fields) => {
          const wanted = [...new Set(['marketoGUID', ...dedupe, ...(link ? [link.field] : []), ...fields])];
          const byGuid = new Map<string, MarketoObject>();
          if (dedupe.length === 1) {
            for (const m of await fetchByValues(api, dedupe[0]!, crmKeys.filter((k) => !k.startsWith('(')), wanted)) byGuid.set(String(m.marketoGUID), m);
          } else {
            const inputs = crmKeys.filter((k) => !k.startsWith('(')).map((k) => Object.fromEntries(k.split('|').map((v, i) => [dedupe[i]!, v])));
            for (const batch of chunks(inputs)) {
              for await (const page of api.iterateByKeys({ filterType: 'dedupeFields', input: batch, fields: wanted })) for (const m of page.items) byGuid.set(String(m.marketoGUID), m);
            }
          }
          if (link) for (const m of await fetchByValues(api, link.field, found.leadIds, wanted)) byGuid.set(String(m.marketoGUID), m);
          return [...byGuid.values()];
        },
        extraCompare: (m, c) => (textOrNull(c.marketo_guid) !== null && textOrNull(c.marketo_guid) !== textOrNull(m.marketoGUID) ? ['marketo_guid'] : []),
        notes: [`key = ${dedupe.join('|')}; Marketo looked up by the CRM's keys${link ? ` and by ${link.field} for every lead found` : ''}`],
      }),
    );
  }
  return reports;
}
