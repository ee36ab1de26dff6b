import type { CrmConnector, CrmRecord } from '../../crm/connector.js';
import { compileToCrm, type MarketoRecord } from '../../mapping/apply.js';
import type { MarketoClient } from '../../marketo/index.js';
import { sameValue } from '../../reconcile/compare.js';
import type { RecordFailure } from '../../store/error-ledger.js';
import type { IdLink } from '../../store/id-map.js';
import type { StateStore } from '../../store/state-store.js';
import type { PullContext } from './context.js';

export interface CompanyPullDeps {
  marketo: Pick<MarketoClient, 'companies'>;
  crm: Pick<CrmConnector, 'upsert' | 'getRecords'>;
  store: Pick<StateStore, 'idMap'>;
}

export interface CompanyPullResult {
  /** CRM account id per externalCompanyId, for every company found (written or not). */
  accounts: Map<string, string>;
  written: number;
  calls: number;
  failures: RecordFailure[];
}

/** Where an account already is: the id map first, then the push's convention (externalCompanyId = CRM id), else its kept Marketo key. */
type Target = { keyField: 'id'; id: string } | { keyField: 'external_company_id' };

/**
 * Reads Marketo companies by externalCompanyId (300 a call) and writes the mapped fields to the
 * CRM accounts behind them; an account that already holds every value is left alone (what the
 * push wrote comes back unchanged). Companies Marketo does not have are left out of `accounts`.
 */
export async function pullCompanies(
  deps: CompanyPullDeps,
  context: PullContext,
  externalIds: readonly string[],
  options: { batchSize: number; operation: string; /** Only companies Marketo updated at or after this are written (the daily scan). */ updatedSince?: Date },
): Promise<CompanyPullResult> {
  const out: CompanyPullResult = { accounts: new Map(), written: 0, calls: 0, failures: [] };
  const wanted = [...new Set(externalIds.filter((x) => x !== ''))];
  if (wanted.length === 0 || !context.schemas.company) return out;
  const entity = context.config.entities.find((e) => e.marketo === 'company' && e.crm === 'account' && e.enabled);
  const accountDescribe = context.describe.entities.find((e) => e.name === 'account');
  const fields = ['id', 'externalCompanyId', ...(options.updatedSince ? ['updatedAt'] : []), ...(entity?.fields ?? []).filter((f) => f.enabled && f.direction !== 'toMarketo').map((f) => f.marketo)];
  const known = new Set(context.schemas.company.fields.map((f) => f.name));
  let companies: MarketoRecord[] = [];
  for (let i = 0; i < wanted.length; i += options.batchSize) {
    const batch = wanted.slice(i, i + options.batchSize);
    for await (const page of deps.marketo.companies.iterate({ filterType: 'externalCompanyId', filterValues: batch, fields: [...new Set(fields)].filter((f) => known.has(f)) })) {
      out.calls++;
      companies.push(...(page.items as MarketoRecord[]));
    }
  }
  const since = options.updatedSince?.getTime();
  if (since !== undefined) {
    companies = companies.filter((c) => {
      const at = Date.parse(String(c.updatedAt));
      // A company without a readable updatedAt is compared rather than missed.
      return Number.isNaN(at) || at >= since;
    });
  }
  if (companies.length === 0) return out;

  const linked = await deps.store.idMap.byMarketoIds('company', companies.map((c) => String(c.id)));
  const unlinked = companies.filter((c) => !linked.has(String(c.id))).map((c) => String(c.externalCompanyId));
  const byCrmId = new Set((unlinked.length ? await deps.crm.getRecords('account', unlinked) : []).map((r) => String(r.id)));
  const targetOf = (c: MarketoRecord): Target => {
    const link = linked.get(String(c.id));
    if (link) return { keyField: 'id', id: link.crmId };
    const ext = String(c.externalCompanyId);
    return byCrmId.has(ext) ? { keyField: 'id', id: ext } : { keyField: 'external_company_id' };
  };

  const map = entity && accountDescribe ? compileToCrm(context.config, 'company', 'account', context.schemas, context.describe) : undefined;
  const references = new Set((accountDescribe?.fields ?? []).filter((f) => f.type === 'reference').map((f) => f.name));
  const byKey: Record<Target['keyField'], { company: MarketoRecord; record: CrmRecord }[]> = { id: [], external_company_id: [] };
  for (const c of companies) {
    const ext = String(c.externalCompanyId);
    const target = targetOf(c);
    if (target.keyField === 'id') out.accounts.set(ext, target.id);
    const mapped = map ? map(c) : { ok: true as const, record: {} as CrmRecord };
    if (!mapped.ok) {
      out.failures.push({ entity: 'account', recordKey: ext, operation: options.operation, source: 'marketo', code: 'MAPPING', reason: mapped.errors.join('; ') });
      continue;
    }
    for (const r of references) delete mapped.record[r];
    const record: CrmRecord = target.keyField === 'id' ? { ...mapped.record, id: target.id } : { ...mapped.record, external_company_id: ext };
    byKey[target.keyField].push({ company: c, record });
  }

  // Accounts that already hold every value are not written (the push's own companies come back unchanged).
  const existing = byKey.id.length ? new Map((await deps.crm.getRecords('account', byKey.id.map((x) => String(x.record.id)))).map((r) => [String(r.id), r])) : new Map<string, CrmRecord>();
  byKey.id = byKey.id.filter((x) => {
    const current = existing.get(String(x.record.id));
    return !current || !Object.entries(x.record).every(([k, v]) => sameValue(v, current[k]));
  });

  const links: IdLink[] = [];
  for (const keyField of ['id', 'external_company_id'] as const) {
    const rows = byKey[keyField];
    if (rows.length === 0) continue;
    const results = await deps.crm.upsert('account', rows.map((r) => r.record), { keyField });
    for (const r of results) {
      const row = rows[r.index]!;
      const ext = String(row.company.externalCompanyId);
      if (r.status === 'failed') {
        out.failures.push({ entity: 'account', recordKey: ext, operation: options.operation, source: 'crm', code: r.code, reason: r.reason });
        continue;
      }
      out.written++;
      out.accounts.set(ext, r.id);
      links.push({ entity: 'company', marketoId: String(row.company.id), crmType: 'account', crmId: r.id });
    }
  }
  for (const c of companies) {
    const id = out.accounts.get(String(c.externalCompanyId));
    if (id && !linked.has(String(c.id))) links.push({ entity: 'company', marketoId: String(c.id), crmType: 'account', crmId: id });
  }
  await deps.store.idMap.link(links);
  return out;
}
