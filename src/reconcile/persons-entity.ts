import type { CrmRecord } from '../crm/connector.js';
import { buildPersonMapping, type MappedPerson } from './person-mapping.js';
import { PersonReconciler } from './persons.js';
import { textOrNull } from '../marketo/values.js';
import type { ReconcileContext } from './context.js';
import { chunks } from './fetch.js';
import { scanLeads, type LeadScanOptions } from './lead-scan.js';
import { emptyReport, finish, type EntityReport } from './report.js';
import type { Discovered } from './sales.js';

const REF_FIELDS = ['id', 'externalCompanyId', 'externalSalesPersonId'];

/**
 * Persons (Marketo leads ⇄ CRM leads and contacts) and the lead scan every other comparison
 * discovers Marketo keys from. Leads created in the window come from bulk lead exports; CRM
 * persons the exports did not cover (created in Marketo before the window, or gone from Marketo)
 * are then looked up by id through REST (300 a call), so every CRM person is checked whatever
 * the window. Only Marketo leads created outside the window and absent from the CRM go unseen.
 * With `compare` false only the scan runs (ids and reference keys, three columns).
 */
export async function reconcilePersons(ctx: ReconcileContext, found: Discovered, window: LeadScanOptions, compare: boolean): Promise<EntityReport | undefined> {
  const started = ctx.calls();
  const [config, schemas, describe] = await Promise.all([ctx.mapping(), ctx.schemas(), ctx.crmDescribe()]);
  const mapping = buildPersonMapping(config, schemas, describe, { csv: true });
  const refCheck = compare ? await personRefCheck(ctx) : undefined;
  const reconciler = new PersonReconciler(mapping, ctx.sample, ctx.showValues, refCheck);
  if (compare) await reconciler.loadCrm(ctx.deps.crm);
  const fields = compare ? mapping.exportFields : REF_FIELDS;
  const scan = await scanLeads(ctx.deps.marketo, fields, { ...window, progress: ctx.deps.progress }, compare ? (row) => reconciler.check(row) : undefined);
  for (const id of scan.leadIds) found.leadIds.add(id);
  for (const k of scan.companyKeys) found.companyKeys.add(k);
  for (const k of scan.salesPersonKeys) found.salesPersonKeys.add(k);

  const pending = compare ? reconciler.pendingCrmIds() : await crmPersonIds(ctx, scan.leadIds);
  let lookedUp = 0;
  for (const batch of chunks(pending.map(Number).filter((n) => Number.isSafeInteger(n) && n > 0))) {
    for await (const page of ctx.deps.marketo.leads.iterateByFilter({ filterType: 'id', filterValues: batch, fields })) {
      for (const lead of page.items) {
        lookedUp += 1;
        found.leadIds.add(lead.id);
        const company = textOrNull(lead.externalCompanyId);
        if (company !== null) found.companyKeys.add(company);
        const sales = textOrNull(lead.externalSalesPersonId);
        if (sales !== null) found.salesPersonKeys.add(sales);
        if (compare) reconciler.check(lead);
      }
    }
  }
  if (!compare) return undefined;

  const r = reconciler.report();
  const report = emptyReport('persons');
  report.marketo = r.marketoRecords;
  report.crm = r.crmRecords;
  report.matched = r.matched;
  report.missingInCrm = r.missing;
  report.missingInMarketo = r.extra;
  report.duplicates = { count: r.duplicates.count, sample: r.duplicates.sample.map((key) => ({ key, side: 'crm' as const, ids: [] })) };
  // A person held as the other CRM type than the routing rule gives differs in its type.
  const sample = [
    ...r.mismatched.sample.map((m) => ({ key: m.marketoId, fields: m.fields, ...(m.values ? { values: m.values } : {}) })),
    ...r.misrouted.sample.map((id) => ({ key: id, fields: ['(person type)'] })),
  ];
  report.mismatched = { count: r.mismatched.count + r.misrouted.count, sample: sample.slice(0, ctx.sample) };
  report.notes.push(
    `Marketo leads created ${window.since} .. ${window.until} read by ${scan.windows} bulk export(s); ${lookedUp} more looked up by id for CRM persons outside that range`,
    'key = Marketo lead id (CRM marketo_lead_id); a CRM lead/contact pair with one id counts as a duplicate',
  );
  report.apiCalls = ctx.calls() - started;
  return finish(report);
}

/**
 * A person's company and salesperson links: the mapped CRM reference (`account_id`, `owner_id`)
 * translated to its target's Marketo key must equal the lead's `externalCompanyId` /
 * `externalSalesPersonId`.
 */
async function personRefCheck(ctx: ReconcileContext): Promise<(mapped: MappedPerson, crm: CrmRecord) => { field: string; marketo: unknown; crm: unknown }[]> {
  const [config, describe, accounts, users] = await Promise.all([ctx.mapping(), ctx.crmDescribe(), ctx.keyIndex('account'), ctx.keyIndex('user')]);
  const plans = new Map<string, { crm: string; ref: keyof MappedPerson['refs']; index: Map<string, string | null> }[]>();
  for (const type of ['lead', 'contact'] as const) {
    const entity = config.entities.find((e) => e.marketo === 'lead' && e.crm === type && e.enabled);
    const crmEntity = describe.entities.find((e) => e.name === type);
    const plan: { crm: string; ref: keyof MappedPerson['refs']; index: Map<string, string | null> }[] = [];
    for (const f of entity?.fields ?? []) {
      if (!f.enabled || f.direction === 'toMarketo') continue;
      const field = crmEntity?.fields.find((c) => c.name === f.crm && c.type === 'reference');
      if (!field) continue;
      if (f.marketo === 'externalCompanyId' && field.references === 'account') plan.push({ crm: f.crm, ref: 'externalCompanyId', index: accounts });
      if (f.marketo === 'externalSalesPersonId' && field.references === 'user') plan.push({ crm: f.crm, ref: 'externalSalesPersonId', index: users });
    }
    plans.set(type, plan);
  }
  return (mapped, crm) => {
    const out: { field: string; marketo: unknown; crm: unknown }[] = [];
    for (const p of plans.get(mapped.type) ?? []) {
      const expected = mapped.refs[p.ref];
      const held = textOrNull(crm[p.crm]);
      const actual = held === null ? null : (p.index.get(held) ?? `(unknown CRM record ${held})`);
      if (expected !== actual) out.push({ field: p.crm, marketo: expected, crm: actual });
    }
    return out;
  };
}

/** Marketo ids the CRM's persons carry that the scan did not see. */
async function crmPersonIds(ctx: ReconcileContext, seen: Set<number>): Promise<string[]> {
  const out: string[] = [];
  for (const type of ['lead', 'contact'] as const) {
    for (const key of (await ctx.keyIndex(type)).values()) if (key !== null && !seen.has(Number(key))) out.push(key);
  }
  return out;
}
