import type { CrmRecord } from '../crm/connector.js';
import type { MarketoObject } from '../marketo/index.js';
import { textOrNull } from '../marketo/values.js';
import { crmKey, type ReconcileContext } from './context.js';
import { fetchByValues } from './fetch.js';
import { reconcileObjects } from './objects.js';
import type { EntityReport } from './report.js';

/**
 * Keys seen on the Marketo side before the object comparisons run: on leads (bulk lead scan) and
 * on the records of earlier comparisons. Marketo cannot list companies, salespersons or
 * opportunities, only look them up by key, so these plus the CRM's own keys are what is compared.
 */
export interface Discovered {
  leadIds: Set<number>;
  companyKeys: Set<string>;
  salesPersonKeys: Set<string>;
  opportunityKeys: Set<string>;
}

export function emptyDiscovered(): Discovered {
  return { leadIds: new Set(), companyKeys: new Set(), salesPersonKeys: new Set(), opportunityKeys: new Set() };
}

function addAll(target: Set<string>, values: Iterable<unknown>): void {
  for (const v of values) {
    const t = textOrNull(v);
    if (t !== null) target.add(t);
  }
}

const LOOKUP_NOTE = 'Marketo looked up by the CRM keys and the keys seen on Marketo leads/records (Marketo cannot list this object)';

export async function reconcileCompanies(ctx: ReconcileContext, found: Discovered): Promise<EntityReport> {
  const users = await ctx.keyIndex('user');
  return reconcileObjects(ctx, {
    name: 'companies',
    marketo: 'company',
    crm: 'account',
    marketoKey: (m) => textOrNull(m.externalCompanyId) ?? undefined,
    marketoId: (m) => String(m.id),
    crmKey: (r) => crmKey('account', r),
    keyCrmFields: ['id', 'external_company_id'],
    refs: { user: (id) => users.get(id) },
    fetch: async (crmKeys, fields) => {
      const records = await fetchByValues(ctx.deps.marketo.companies, 'externalCompanyId', [...crmKeys, ...found.companyKeys], ['externalCompanyId', 'id', ...fields]);
      addAll(found.salesPersonKeys, records.map((m) => m.externalSalesPersonId));
      return records;
    },
    notes: [LOOKUP_NOTE],
  });
}

export async function reconcileSalesPersons(ctx: ReconcileContext, found: Discovered): Promise<EntityReport> {
  return reconcileObjects(ctx, {
    name: 'salespersons',
    marketo: 'salesPerson',
    crm: 'user',
    marketoKey: (m) => textOrNull(m.externalSalesPersonId) ?? undefined,
    marketoId: (m) => String(m.id),
    crmKey: (r) => crmKey('user', r),
    keyCrmFields: ['id', 'external_sales_person_id'],
    fetch: (crmKeys, fields) => fetchByValues(ctx.deps.marketo.salesPersons, 'externalSalesPersonId', [...crmKeys, ...found.salesPersonKeys], ['externalSalesPersonId', 'id', ...fields]),
    notes: [LOOKUP_NOTE],
  });
}

export async function reconcileOpportunities(ctx: ReconcileContext, found: Discovered): Promise<EntityReport> {
  const [accounts, users] = await Promise.all([ctx.keyIndex('account'), ctx.keyIndex('user')]);
  return reconcileObjects(ctx, {
    name: 'opportunities',
    marketo: 'opportunity',
    crm: 'opportunity',
    marketoKey: (m) => textOrNull(m.externalOpportunityId) ?? undefined,
    marketoId: (m) => String(m.marketoGUID),
    crmKey: (r) => crmKey('opportunity', r),
    keyCrmFields: ['id', 'external_opportunity_id'],
    refs: { account: (id) => accounts.get(id), user: (id) => users.get(id) },
    fetch: async (crmKeys, fields) => {
      const records = await fetchByValues(
        ctx.deps.marketo.opportunities,
        'externalOpportunityId',
        [...crmKeys, ...found.opportunityKeys],
        ['externalOpportunityId', 'marketoGUID', ...fields],
      );
      addAll(found.companyKeys, records.map((m) => m.externalCompanyId));
      addAll(found.salesPersonKeys, records.map((m) => m.externalSalesPersonId));
      return records;
    },
    notes: ['Marketo looked up by the CRM keys and the opportunity ids of the roles found on Marketo leads'],
  });
}

export const ROLE_FIELDS = ['marketoGUID', 'externalOpportunityId', 'leadId', 'role'];

/**
 * Marketo's roles of the known leads (by `leadId`, 300 a call) and of the CRM's opportunities
 * (by `externalOpportunityId`): every role either side could hold. Run before opportunities, whose
 * Marketo keys come from these roles.
 */
export async function discoverRoles(ctx: ReconcileContext, found: Discovered, fields: readonly string[] = []): Promise<MarketoObject[]> {
  const opportunities = await ctx.crmRecords('opportunity');
  const api = ctx.deps.marketo.opportunityRoles;
  const wanted = [...ROLE_FIELDS, ...fields];
  const byGuid = new Map<string, MarketoObject>();
  for (const m of await fetchByValues(api, 'leadId', found.leadIds, wanted)) byGuid.set(String(m.marketoGUID), m);
  const oppKeys = new Set(opportunities.map((o) => crmKey('opportunity', o)));
  for (const m of await fetchByValues(api, 'externalOpportunityId', oppKeys, wanted)) byGuid.set(String(m.marketoGUID), m);
  const roles = [...byGuid.values()];
  addAll(found.opportunityKeys, roles.map((m) => m.externalOpportunityId));
  return roles;
}

export function roleKey(opportunityKey: unknown, leadId: unknown, role: unknown): string {
  return `${String(opportunityKey)}|${String(leadId)}|${String(role)}`;
}

export async function reconcileRoles(ctx: ReconcileContext, found: Discovered, fetched?: MarketoObject[]): Promise<EntityReport> {
  const [opportunities, contacts, leads] = await Promise.all([ctx.keyIndex('opportunity'), ctx.keyIndex('contact'), ctx.keyIndex('lead')]);
  const personKey = (id: unknown): string => {
    const s = String(id);
    return contacts.get(s) ?? leads.get(s) ?? `(CRM person ${s} without a Marketo id)`;
  };
  return reconcileObjects(ctx, {
    name: 'roles',
    marketo: 'opportunityRole',
    crm: 'opportunityRole',
    marketoKey: (m) => (m.externalOpportunityId == null || m.leadId == null || m.role == null ? undefined : roleKey(m.externalOpportunityId, m.leadId, m.role)),
    marketoId: (m) => String(m.marketoGUID),
    crmKey: (r: CrmRecord) => roleKey(opportunities.get(String(r.opportunity_id)) ?? `(CRM opportunity ${String(r.opportunity_id)})`, personKey(r.contact_id), r.role),
    keyCrmFields: ['id', 'opportunity_id', 'contact_id', 'role', 'marketo_guid'],
    fetch: async (_crmKeys, fields) => fetched ?? discoverRoles(ctx, found, fields),
    extraCompare: (m, c) => (textOrNull(c.marketo_guid) !== null && textOrNull(c.marketo_guid) !== textOrNull(m.marketoGUID) ? ['marketo_guid'] : []),
    notes: ['Marketo roles looked up by the lead ids found and by the CRM opportunities\' keys; key = externalOpportunityId|leadId|role'],
  });
}
