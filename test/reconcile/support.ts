import { writePersons } from '../../activities/person-writer.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { configureBulk } from '../../emulator/bulk/service.js';
import type { CrmRecord } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { activityRecord } from '../../src/marketing/activity-record.js';
import { campaignMemberRecord, campaignRecord } from '../../src/marketing/campaign-record.js';
import { compileCustomObjectPlan, enabledCustomObjects } from '../../src/marketing/custom-object-record.js';
import { listMemberRecord, staticListRecord } from '../../src/marketing/static-list-record.js';
import { compileToCrm } from '../../src/mapping/apply.js';
import type { EntityMapping, MappingConfig } from '../../src/mapping/mapping-config.js';
import { planProvisioning, provision } from '../../src/mapping/provisioning.js';
import type { MarketoSchemas } from '../../src/mapping/marketo-schema.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { MarketoClient, type MarketoObject, type ObjectApi } from '../../src/marketo/index.js';
import { buildPersonMapping } from '../../src/reconcile/person-mapping.js';
import { ReconcileContext } from '../../src/reconcile/context.js';
import { StateStore } from '../../src/store/state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

export interface ReconcileHarness {
  emulator: RunningEmulator;
  marketo: MarketoClient;
  crm: PostgresCrmConnector;
  store: StateStore;
  db: TestDatabase;
  /** Seeded date range: leads were created in it. */
  since: string;
  close(): Promise<void>;
}

const DAY = 86_400_000;

/** A small seeded emulator (two bulk windows of leads) and an empty Postgres CRM. */
export async function startReconcileHarness(seed: Record<string, number> = {}): Promise<ReconcileHarness> {
  const now = Date.now();
  const from = new Date(now - 40 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const to = new Date(now - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const emulator = await startEmulator({
    clientId: 'rc-id',
    clientSecret: 'rc-secret',
    // Several reconciliations back to back: a wider rate window keeps the client's limiter from pausing the test.
    limits: { rateLimitCalls: 2_000 },
    seed: { leads: 60, companies: 5, salespersons: 3, opportunities: 4, rolesPerOpportunity: 2, customObjects: 6, programs: 2, lists: 2, membershipRate: 0.2, from, to, ...seed },
  });
  await configureBulk(emulator.subscription, { export: { rowsPerSecond: 100_000 } });
  const db = await createTestDatabase('reconcile');
  const store = await StateStore.open({ connectionString: db.url });
  const crm = await PostgresCrmConnector.open({ connectionString: db.url });
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'rc-id', clientSecret: 'rc-secret', limits: { callsPerWindow: 2_000 } });
  return {
    emulator,
    marketo,
    crm,
    store,
    db,
    since: new Date(now - 41 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    close: async () => {
      await store.close();
      await crm.close();
      await db.drop();
      await emulator.close();
    },
  };
}

/** Test speed for the reconcile's own bulk exports. */
export const FAST = { maxWindowDays: 31, pollIntervalMs: 50 } as const;

async function all(api: ObjectApi, filterType: string, values: (string | number)[], fields: string[]): Promise<MarketoObject[]> {
  const out: MarketoObject[] = [];
  for (let i = 0; i < values.length; i += 300) {
    for await (const page of api.iterate({ filterType, filterValues: values.slice(i, i + 300), fields })) out.push(...page.items);
  }
  return out;
}

function written(results: { status: string; id?: string; reason?: string }[], what: string): string[] {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) throw new Error(`${what}: ${failed.length} failed: ${failed.map((f) => f.reason).join('; ')}`);
  return results.map((r) => r.id!);
}

/** References are linked by key below; a null Marketo checkbox lands as false in a NOT NULL column (as the sync writes it). */
function dropRefs(record: CrmRecord, ...names: string[]): CrmRecord {
  for (const n of names) delete record[n];
  for (const b of ['is_closed', 'is_won', 'is_primary']) if (b in record && record[b] === null) record[b] = false;
  return record;
}

/**
 * Copies the emulator's data into the CRM the way the sync does (person writer for leads, the
 * mapping's Marketo → CRM transforms for the other objects, Marketo keys in the external-key
 * columns), so a reconciliation afterwards must find zero differences.
 */
export async function mirrorIntoCrm(h: ReconcileHarness): Promise<{ config: MappingConfig; schemas: MarketoSchemas }> {
  const ctx = new ReconcileContext({ marketo: h.marketo, crm: h.crm, store: h.store }, 0, false);
  const [schemas, describe, config] = await Promise.all([ctx.schemas(), ctx.crmDescribe(), ctx.mapping()]);
  const sub = h.emulator.subscription;
  const fieldsOf = (o: 'company' | 'salesPerson' | 'opportunity' | 'opportunityRole') => schemas[o]!.fields.map((f) => f.name);

  const users = await all(h.marketo.salesPersons, 'externalSalesPersonId', [...(sub.objects.get('SalesPerson')?.values() ?? [])].map((r) => String(r.values.externalSalesPersonId)), fieldsOf('salesPerson'));
  const toUser = compileToCrm(config, 'salesPerson', 'user', schemas, describe);
  const userIds = written(await h.crm.upsert('user', users.map((u) => ({ ...toUser(u).record, external_sales_person_id: String(u.externalSalesPersonId) })), { keyField: 'external_sales_person_id' }), 'users');
  const userByKey = new Map(users.map((u, i) => [String(u.externalSalesPersonId), userIds[i]!]));

  const companies = await all(h.marketo.companies, 'externalCompanyId', [...(sub.objects.get('Company')?.values() ?? [])].map((r) => String(r.values.externalCompanyId)), fieldsOf('company'));
  const toAccount = compileToCrm(config, 'company', 'account', schemas, describe);
  const accountIds = written(
    await h.crm.upsert('account', companies.map((c) => ({ ...dropRefs(toAccount(c).record, 'owner_id'), external_company_id: String(c.externalCompanyId) })), { keyField: 'external_company_id' }),
    'accounts',
  );
  const accountByKey = new Map(companies.map((c, i) => [String(c.externalCompanyId), accountIds[i]!]));

  const personMapping = buildPersonMapping(config, schemas, describe, { csv: true });
  const leadIds = [...sub.leads.ids()];
  for (let i = 0; i < leadIds.length; i += 300) {
    const rows: Record<string, unknown>[] = [];
    for await (const page of h.marketo.leads.iterateByFilter({ filterType: 'id', filterValues: leadIds.slice(i, i + 300), fields: personMapping.exportFields })) rows.push(...page.items);
    const outcome = await writePersons({ crm: h.crm, store: h.store }, personMapping, rows, { operation: 'test-mirror' });
    if (outcome.failed > 0) throw new Error(`persons: ${outcome.failed} failed`);
    // Then the links, as the bootstrap sets them once companies and salespersons are loaded.
    for (const type of ['lead', 'contact'] as const) {
      const links = outcome.refs
        .filter((r) => r.type === type)
        .map((r) => ({
          marketo_lead_id: Number(r.marketoId),
          owner_id: r.externalSalesPersonId ? (userByKey.get(r.externalSalesPersonId) ?? null) : null,
          ...(type === 'contact' ? { account_id: r.externalCompanyId ? (accountByKey.get(r.externalCompanyId) ?? null) : null } : {}),
        }));
      if (links.length > 0) written(await h.crm.upsert(type, links, { keyField: 'marketo_lead_id', updateOnly: true }), `${type} links`);
    }
  }
  const contactByLead = new Map<string, string>();
  for (const r of (await h.crm.readChanges('contact', { includeOwnWrites: true, limit: 10_000 })).changes) {
    if (r.kind === 'upsert') contactByLead.set(String(r.record.marketo_lead_id), r.id);
  }

  const opportunities = await all(h.marketo.opportunities, 'externalOpportunityId', [...(sub.objects.get('opportunity')?.values() ?? [])].map((r) => String(r.values.externalOpportunityId)), fieldsOf('opportunity'));
  const toOpp = compileToCrm(config, 'opportunity', 'opportunity', schemas, describe);
  const oppIds = written(
    await h.crm.upsert(
      'opportunity',
      opportunities.map((o) => ({
        ...dropRefs(toOpp(o).record, 'account_id', 'owner_id'),
        external_opportunity_id: String(o.externalOpportunityId),
        account_id: o.externalCompanyId ? (accountByKey.get(String(o.externalCompanyId)) ?? null) : null,
        owner_id: o.externalSalesPersonId ? (userByKey.get(String(o.externalSalesPersonId)) ?? null) : null,
      })),
      { keyField: 'external_opportunity_id' },
    ),
    'opportunities',
  );
  const oppByKey = new Map(opportunities.map((o, i) => [String(o.externalOpportunityId), oppIds[i]!]));

  const roles = await all(h.marketo.opportunityRoles, 'externalOpportunityId', [...oppByKey.keys()], fieldsOf('opportunityRole'));
  const toRole = compileToCrm(config, 'opportunityRole', 'opportunityRole', schemas, describe);
  written(
    await h.crm.upsert(
      'opportunityRole',
      roles.map((r) => ({
        ...dropRefs(toRole(r).record),
        opportunity_id: oppByKey.get(String(r.externalOpportunityId))!,
        contact_id: contactByLead.get(String(r.leadId))!,
        role: String(r.role),
        marketo_guid: String(r.marketoGUID),
      })),
      { keyField: 'marketo_guid' },
    ),
    'roles',
  );
  return { config, schemas };
}

/** Builds the default (suggested) mapping the reconciliation uses when none is saved. */
export async function suggested(h: ReconcileHarness): Promise<MappingConfig> {
  const ctx = new ReconcileContext({ marketo: h.marketo, crm: h.crm }, 0, false);
  return suggestMapping(await ctx.schemas(), await ctx.crmDescribe());
}

/** The seeded custom object, mapped into a provisioned CRM table `custom:purchase`. */
export const PURCHASE: EntityMapping = {
  marketo: 'customObject:purchase_c',
  crm: 'custom:purchase',
  enabled: true,
  fields: [
    { marketo: 'purchaseId', crm: 'purchase_id', direction: 'toCrm', enabled: true, truncate: false },
    { marketo: 'leadId', crm: 'marketo_lead_id', direction: 'toCrm', enabled: true, truncate: false },
    { marketo: 'product', crm: 'product', direction: 'toCrm', enabled: true, truncate: false },
    { marketo: 'amount', crm: 'amount', direction: 'toCrm', enabled: true, truncate: false },
    { marketo: 'purchaseDate', crm: 'purchase_date', direction: 'toCrm', enabled: true, truncate: false },
  ],
  derived: [],
};

/** Activity types the emulator's seed writes besides New Lead: Add to List and Change Status in Progression. */
export const MIRRORED_ACTIVITY_TYPES = [24, 104];

/**
 * Copies the Marketo-only objects into the CRM with the record builders the bootstrap uses:
 * programs and lists with their members, the seeded custom object (its table provisioned and
 * its mapping saved first) and the activities of MIRRORED_ACTIVITY_TYPES.
 */
export async function mirrorMarketingIntoCrm(h: ReconcileHarness): Promise<MappingConfig> {
  let ctx = new ReconcileContext({ marketo: h.marketo, crm: h.crm, store: h.store }, 0, false);
  const schemas = await ctx.schemas();
  const base = await ctx.mapping();
  const config: MappingConfig = { ...base, entities: [...base.entities.filter((e) => e.marketo !== PURCHASE.marketo), PURCHASE] };
  await provision(h.crm, planProvisioning(config, schemas, await ctx.crmDescribe()));
  await h.store.mappings.save(config);
  ctx = new ReconcileContext({ marketo: h.marketo, crm: h.crm, store: h.store }, 0, false);
  const describe = await ctx.crmDescribe();
  const sub = h.emulator.subscription;

  const programs: MarketoObject[] = [];
  for await (const page of h.marketo.programs.iterateBrowse()) programs.push(...(page as unknown as MarketoObject[]));
  const plain = <T>(v: unknown) => JSON.parse(JSON.stringify(v)) as T;
  const campaignIds = written(await h.crm.upsert('campaign', programs.map((p) => campaignRecord(plain(p))), { keyField: 'marketo_program_id' }), 'campaigns');
  const members: CrmRecord[] = [];
  for (const [i, p] of programs.entries()) {
    for await (const page of h.marketo.leads.iterateByProgramId(Number(p.id), { fields: ['id'] })) {
      for (const lead of page.items) members.push(campaignMemberRecord({ ...plain<Record<string, unknown>>(lead.membership), programId: Number(p.id), leadId: lead.id }, { campaignId: campaignIds[i]! }));
    }
  }
  written(await h.crm.upsert('campaignMember', members, { keyField: 'marketo_key' }), 'campaign members');

  const lists = [];
  for await (const page of h.marketo.lists.iterate()) lists.push(...page.items);
  const listIds = written(await h.crm.upsert('staticList', lists.map((l) => staticListRecord(plain(l))), { keyField: 'marketo_list_id' }), 'static lists');
  const listMembers: CrmRecord[] = [];
  for (const [i, l] of lists.entries()) {
    for await (const page of h.marketo.leads.iterateByListId(l.id, { fields: ['id'] })) for (const lead of page.items) listMembers.push(listMemberRecord(l.id, lead.id, { staticListId: listIds[i]! }));
  }
  written(await h.crm.upsert('listMember', listMembers, { keyField: 'marketo_key' }), 'list members');

  const entity = enabledCustomObjects(config).find((e) => e.marketo === PURCHASE.marketo)!;
  const plan = compileCustomObjectPlan(config, entity, schemas, describe);
  const purchases: MarketoObject[] = [];
  const leadIds = [...sub.leads.ids()];
  for (let i = 0; i < leadIds.length; i += 300) {
    for await (const page of h.marketo.customObject('purchase_c').iterate({ filterType: 'leadId', filterValues: leadIds.slice(i, i + 300), fields: plan.exportFields })) purchases.push(...page.items);
  }
  written(await h.crm.upsert('custom:purchase', purchases.map((p) => plan.toRecord(p, undefined)), { keyField: plan.keyField }), 'purchases');

  const names = new Map((await h.marketo.activities.types()).map((t) => [t.id, t.name]));
  const activities: CrmRecord[] = [];
  const token = await h.marketo.activities.pagingToken(new Date(Date.parse(h.since)));
  for await (const page of h.marketo.activities.iterate({ nextPageToken: token, activityTypeIds: MIRRORED_ACTIVITY_TYPES })) {
    for (const a of page.items) activities.push(activityRecord(a, { typeName: names.get(a.activityTypeId) ?? null }));
  }
  written(await h.crm.upsert('activity', activities, { keyField: 'marketo_guid' }), 'activities');
  return config;
}
