import { z } from 'zod';
import { CrmError, type CrmRecord } from '../src/crm/connector.js';
import type { MarketoObject } from '../src/marketo/objects.js';
import type { RecordFailure } from '../src/store/error-ledger.js';
import type { IdLink } from '../src/store/id-map.js';
import { crmIdsByKey, markLinked, pendingKeys, pendingLinks, pendingRoleKeys, recordAttempts, roleKeyText, type LinkTarget, type RoleKey } from './bootstrap-keys.js';
import { marketoCall } from './failures.js';
import { chunks, OPERATION, PER_CALL, salesObjectLoader, text, type SalesLoaderDeps } from './sales-object-loader.js';

export type SalesActivityDeps = SalesLoaderDeps;

/** What one load or link step did: counts only (they go into workflow history). */
export interface StepOutcome {
  /** Keys (or references) taken by this step; 0 means nothing was pending. */
  taken: number;
  records: number;
  written: number;
  failed: number;
  apiCalls: number;
}

const loadInput = z.object({
  runId: z.string().min(1),
  kind: z.enum(['company', 'salesPerson', 'opportunity']),
  maxKeys: z.number().int().positive().max(30_000).default(3_000),
});
const rolesInput = z.object({
  runId: z.string().min(1),
  maxKeys: z.number().int().positive().max(30_000).default(3_000),
  /** Only roles whose lead is already written (while the leads phase still runs). */
  requireLead: z.boolean(),
  /**
   * Take only whole Get calls' worth of keys (a multiple of 300), leaving the rest for a later
   * step: rounds while the Add to Opportunity windows still land, so the roles cost no more Gets
   * than one load at the end would.
   */
  wholeCalls: z.boolean().default(false),
});
/** The load and link steps of one follower phase, run back to back in one activity (a round). */
const roundInput = z.object({
  runId: z.string().min(1),
  phase: z.enum(['companies', 'salesPersons']),
  /** Keys per load step (10 Get calls of 300). */
  keysPerStep: z.number().int().positive().max(30_000).default(3_000),
  /** References per link step. */
  linksPerStep: z.number().int().positive().max(50_000).default(10_000),
  /** Steps one round takes at most before it returns `more` (so no attempt runs for minutes). */
  maxSteps: z.number().int().positive().max(1_000).default(20),
});
const ROUND: Record<z.infer<typeof roundInput>['phase'], { kind: 'company' | 'salesPerson'; targets: LinkTarget[] }> = {
  companies: { kind: 'company', targets: ['contactAccounts', 'opportunityAccounts'] },
  salesPersons: { kind: 'salesPerson', targets: ['personOwners', 'accountOwners', 'opportunityOwners'] },
};

/** A round's counts, and whether it stopped at its step limit with work left. */
export interface RoundOutcome extends StepOutcome {
  /** Load and link steps the round ran. */
  steps: number;
  more: boolean;
}
const linkInput = z.object({
  runId: z.string().min(1),
  target: z.enum(['contactAccounts', 'opportunityAccounts', 'personOwners', 'accountOwners', 'opportunityOwners']),
  limit: z.number().int().positive().max(50_000).default(10_000),
});

/**
 * The REST side of the sales phases: companies, salespersons, opportunities and roles fetched
 * by the keys earlier phases staged (300 per Get call, several calls at once under the client's
 * limiter), upserted keyed on Marketo's keys so a retried step never duplicates, and the
 * set-based link steps that fill the references (account, owner) once their targets exist.
 */
export function createSalesActivities(deps: SalesActivityDeps) {
  const loader = salesObjectLoader(deps);
  const { staging, mapping, fetchAll, write, loadByKeys, freshStatistics } = loader;

  /**
   * Roles link contacts in the CRM, while Marketo links a role to any person. A role whose person
   * is a CRM lead makes that person a contact, as the seed's Lead Conversion ("Converting a Lead
   * to a Contact in an Existing Company") describes: the lead is converted in the CRM under the
   * account of the opportunity's company (loaded here if the companies phase has not yet), and the
   * Marketo person is associated with that company through externalCompanyId, so both sides agree
   * that it is a contact. A person whose opportunity has no company stays a lead; its role goes to
   * the ledger (NOT_A_CONTACT). Returns the contact per Marketo lead id.
   */
  async function convertRolePersons(
    runId: string,
    wanted: ReadonlyMap<string, { crmLeadId: string; externalOpportunityId: string }>,
    failures: RecordFailure[],
  ): Promise<{ contacts: Map<string, string>; refused: Map<string, string>; apiCalls: number }> {
    const contacts = new Map<string, string>();
    const refused = new Map<string, string>();
    let apiCalls = 0;
    if (wanted.size === 0) return { contacts, refused, apiCalls };
    const opportunityKeys = [...new Set([...wanted.values()].map((w) => w.externalOpportunityId))];
    const { rows } = await staging.pool.query<{ key: string; company_key: string | null }>(
      `SELECT key, company_key FROM ${staging.loaded} WHERE run_id = $1 AND kind = 'opportunity' AND key = ANY($2::text[])`,
      [runId, opportunityKeys],
    );
    const companyOf = new Map(rows.map((r) => [r.key, r.company_key]));
    const companyKeys = [...new Set(rows.map((r) => r.company_key).filter((k): k is string => k !== null))];
    let accounts = await crmIdsByKey(staging, runId, 'company', companyKeys);
    const missing = companyKeys.filter((k) => !accounts.has(k));
    if (missing.length > 0) {
      apiCalls += (await loadByKeys(runId, 'company', missing)).apiCalls;
      accounts = await crmIdsByKey(staging, runId, 'company', companyKeys);
    }
    const associate: { id: number; externalCompanyId: string }[] = [];
    const links: IdLink[] = [];
    for (const [marketoId, w] of wanted) {
      const companyKey = companyOf.get(w.externalOpportunityId) ?? null;
      const accountId = companyKey === null ? undefined : accounts.get(companyKey);
      if (!companyKey || !accountId) {
        refused.set(marketoId, companyKey ? `company ${companyKey} of opportunity ${w.externalOpportunityId} is not in the CRM` : `opportunity ${w.externalOpportunityId} has no company to convert the lead into`);
        continue;
      }
      let contactId: string;
      try {
        contactId = (await deps.crm.convertLead({ leadId: w.crmLeadId, accountId })).contactId;
      } catch (err) {
        if (!(err instanceof CrmError)) throw err;
        // A retried step finds its own conversion done: the contact it made is the one.
        const done = err.code === 'ALREADY_CONVERTED' ? text((await deps.crm.getRecords('lead', [w.crmLeadId]))[0]?.converted_contact_id) : null;
        if (done === null) {
          failures.push({ entity: 'lead', recordKey: marketoId, operation: OPERATION, source: 'crm', code: err.code, reason: `conversion for an opportunity role: ${err.message}` });
          refused.set(marketoId, `converting lead ${marketoId} failed (${err.code})`);
          continue;
        }
        contactId = done;
      }
      contacts.set(marketoId, contactId);
      links.push({ entity: 'lead', marketoId, crmType: 'contact', crmId: contactId });
      associate.push({ id: Number(marketoId), externalCompanyId: companyKey });
    }
    await deps.store.idMap.link(links);
    for (const batch of chunks(associate, PER_CALL)) {
      const outcomes = await deps.marketo.leads.sync({ action: 'updateOnly', lookupField: 'id', input: batch });
      apiCalls += 1;
      for (const o of outcomes) {
        if (o.status !== 'skipped') continue;
        const lead = batch[o.seq]!;
        const reason = o.reasons[0];
        failures.push({ entity: 'lead', recordKey: String(lead.id), operation: OPERATION, source: 'marketo', code: reason?.code ?? 'SKIPPED', reason: `associating the converted person with company ${lead.externalCompanyId}: ${reason?.message ?? 'skipped'}` });
      }
    }
    return { contacts, refused, apiCalls };
  }

  /**
   * Loads the next `maxKeys` pending keys of companies, salespersons or opportunities: Get by the
   * external key, 300 a call, into the CRM keyed on the same key. References (account, owner)
   * are staged, not written: the link steps set them once their targets are loaded.
   */
  async function loadSalesObjects(raw: z.input<typeof loadInput>): Promise<StepOutcome> {
    const input = loadInput.parse(raw);
    return marketoCall(async () => {
      // The staging tables grow faster than autovacuum analyzes them: stale plans here are O(n²).
      await freshStatistics();
      const keys = await pendingKeys(staging, input.runId, input.kind, input.maxKeys);
      if (keys.length === 0) return { taken: 0, records: 0, written: 0, failed: 0, apiCalls: 0 };
      return { taken: keys.length, ...(await loadByKeys(input.runId, input.kind, keys)) };
    });
  }

  /**
   * Sets the references of the next `limit` records whose targets are loaded: set-based updates
   * through the connector (only the reference columns, update-only), then marks them. Persons
   * get account and owner in the same write, whichever of the two person targets is asked for.
   */
  async function linkSalesReferences(raw: z.input<typeof linkInput>): Promise<StepOutcome> {
    const input = linkInput.parse(raw);
    const target: LinkTarget = input.target;
    await freshStatistics();
    const pending = await pendingLinks(staging, input.runId, target, input.limit);
    if (pending.length === 0) return { taken: 0, records: 0, written: 0, failed: 0, apiCalls: 0 };
    const groups: { entity: string; keyField: string; items: typeof pending }[] = [];
    if (target === 'contactAccounts' || target === 'personOwners') {
      for (const type of ['lead', 'contact'] as const) groups.push({ entity: type, keyField: 'marketo_lead_id', items: pending.filter((p) => p.personType === type) });
    } else {
      groups.push({ entity: target === 'accountOwners' ? 'account' : 'opportunity', keyField: 'id', items: pending });
    }
    let written = 0;
    const failures: RecordFailure[] = [];
    const updates = await Promise.all(
      groups.map((g) => {
        if (g.items.length === 0) return [];
        const records = g.items.map((p) => ({
          [g.keyField]: g.keyField === 'id' ? p.key : Number(p.key),
          ...(p.accountId ? { account_id: p.accountId } : {}),
          ...(p.ownerId ? { owner_id: p.ownerId } : {}),
        }));
        return deps.crm.upsert(g.entity, records, { keyField: g.keyField, updateOnly: true });
      }),
    );
    // A person staged as a lead may have become a contact since (a role converted it): its owner
    // goes to the contact, which now holds its Marketo lead id.
    const converted: typeof pending = [];
    groups.forEach((g, i) => {
      for (const r of updates[i]!) {
        if (r.status !== 'failed') written += 1;
        else if (r.code === 'NOT_FOUND') {
          // A person the CRM does not hold failed its own write (ledgered then): nothing to link.
          if (g.entity === 'lead' && g.items[r.index]!.ownerId) converted.push(g.items[r.index]!);
        } else {
          const item = g.items[r.index]!;
          const columns = [item.accountId ? 'account_id' : '', item.ownerId ? 'owner_id' : ''].filter(Boolean).join(', ');
          failures.push({ entity: g.entity, recordKey: item.key, operation: OPERATION, source: 'crm', code: r.code, reason: `setting ${columns}: ${r.reason}` });
        }
      }
    });
    if (converted.length > 0) {
      const results = await deps.crm.upsert('contact', converted.map((p) => ({ marketo_lead_id: Number(p.key), owner_id: p.ownerId ?? null })), { keyField: 'marketo_lead_id', updateOnly: true });
      for (const r of results) {
        if (r.status !== 'failed') written += 1;
        else if (r.code !== 'NOT_FOUND') failures.push({ entity: 'contact', recordKey: converted[r.index]!.key, operation: OPERATION, source: 'crm', code: r.code, reason: `setting owner_id: ${r.reason}` });
      }
    }
    await deps.store.errors.record(failures);
    await markLinked(staging, input.runId, target, pending);
    return { taken: pending.length, records: 0, written, failed: failures.length, apiCalls: 0 };
  }

  return {
    loadSalesObjects,

    /**
     * One round of a follower phase in a single activity: loads every pending key of its kind
     * (companies: named by persons the lead ingest could not link and by opportunities;
     * salespersons: named by persons, companies and opportunities), then sets every reference
     * whose target is loaded, each as the separate steps did (same queries, same batches), so a
     * round costs one workflow task whatever it finds. Stops after `maxSteps` steps with `more`.
     */
    async runFollowerRound(raw: z.input<typeof roundInput>): Promise<RoundOutcome> {
      const input = roundInput.parse(raw);
      const { kind, targets } = ROUND[input.phase];
      const total: RoundOutcome = { taken: 0, records: 0, written: 0, failed: 0, apiCalls: 0, steps: 0, more: false };
      const add = (out: StepOutcome) => {
        total.steps += 1;
        total.taken += out.taken;
        total.records += out.records;
        total.written += out.written;
        total.failed += out.failed;
        total.apiCalls += out.apiCalls;
      };
      const drain = async (batch: number, step: () => Promise<StepOutcome>): Promise<boolean> => {
        for (;;) {
          if (total.steps >= input.maxSteps) return false;
          const out = await step();
          add(out);
          if (out.taken < batch) return true;
        }
      };
      // Links only after every key is loaded, so the targets of this round's references exist.
      let finished = await drain(input.keysPerStep, () => loadSalesObjects({ runId: input.runId, kind, maxKeys: input.keysPerStep }));
      for (const target of targets) {
        if (!finished) break;
        finished = await drain(input.linksPerStep, () => linkSalesReferences({ runId: input.runId, target, limit: input.linksPerStep }));
      }
      total.more = !finished;
      return total;
    },

    /**
     * Loads pending opportunity roles by their dedupe keys (externalOpportunityId, leadId, role),
     * 300 a call, into the CRM keyed on the role's marketoGUID; the contact comes from the id map
     * (a CRM lead is converted first: convertRolePersons) and the opportunity from what the
     * opportunities phase loaded.
     */
    async loadOpportunityRoles(raw: z.input<typeof rolesInput>): Promise<StepOutcome> {
      const input = rolesInput.parse(raw);
      return marketoCall(async () => {
        await freshStatistics();
        const pending = await pendingRoleKeys(staging, input.runId, input.maxKeys, input.requireLead);
        const keys = input.wholeCalls ? pending.slice(0, pending.length - (pending.length % PER_CALL)) : pending;
        if (keys.length === 0) return { taken: 0, records: 0, written: 0, failed: 0, apiCalls: 0 };
        const m = await mapping('opportunityRole');
        const api = deps.marketo.opportunityRoles;
        const fetched = await Promise.all(
          chunks(keys, PER_CALL).map((input) =>
            fetchAll((token) => api.getByKeys({ filterType: 'dedupeFields', input: input.map((k) => ({ ...k })), fields: m.fields, ...(token ? { nextPageToken: token } : {}) })),
          ),
        );
        const records = fetched.flatMap((f) => f.records);
        const wanted = new Set(keys.map(roleKeyText));
        const opportunities = await crmIdsByKey(staging, input.runId, 'opportunity', [...new Set(keys.map((k) => k.externalOpportunityId))]);
        const people = await deps.store.idMap.byMarketoIds('lead', [...new Set(keys.map((k) => String(k.leadId)))]);
        const found: { key: RoleKey; k: string; guid: string; rec: MarketoObject; opportunityId: string }[] = [];
        const taken = new Set<string>();
        const refused: RecordFailure[] = [];
        const toConvert = new Map<string, { crmLeadId: string; externalOpportunityId: string }>();
        for (const rec of records) {
          const key: RoleKey = { externalOpportunityId: String(rec.externalOpportunityId), leadId: Number(rec.leadId), role: String(rec.role) };
          const k = roleKeyText(key);
          const guid = text(rec.marketoGUID);
          if (!wanted.has(k) || guid === null || taken.has(k)) continue;
          taken.add(k);
          const opportunityId = opportunities.get(key.externalOpportunityId);
          const person = people.get(String(key.leadId));
          if (!opportunityId || !person || (person.crmType !== 'contact' && person.crmType !== 'lead')) {
            refused.push({
              entity: 'opportunityRole', recordKey: guid, operation: OPERATION, source: 'marketo', code: opportunityId ? 'NOT_A_CONTACT' : 'NO_OPPORTUNITY',
              reason: opportunityId ? `lead ${key.leadId} is not in the CRM; CRM roles link contacts` : `opportunity ${key.externalOpportunityId} is not in the CRM`,
            });
            continue;
          }
          if (person.crmType === 'lead' && !toConvert.has(String(key.leadId))) toConvert.set(String(key.leadId), { crmLeadId: person.crmId, externalOpportunityId: key.externalOpportunityId });
          found.push({ key, k, guid, rec, opportunityId });
        }
        const conversion = await convertRolePersons(input.runId, toConvert, refused);
        const items: Parameters<typeof write>[1] = [];
        for (const { key, k, guid, rec, opportunityId } of found) {
          const person = people.get(String(key.leadId))!;
          const contactId = person.crmType === 'contact' ? person.crmId : conversion.contacts.get(String(key.leadId));
          if (contactId === undefined) {
            refused.push({ entity: 'opportunityRole', recordKey: guid, operation: OPERATION, source: 'marketo', code: 'NOT_A_CONTACT', reason: `lead ${key.leadId} is a CRM lead and was not converted: ${conversion.refused.get(String(key.leadId)) ?? 'unknown'}; CRM roles link contacts` });
            continue;
          }
          const outcome = m.map(rec);
          Object.assign(outcome.record, { marketo_guid: guid, opportunity_id: opportunityId, contact_id: contactId, role: key.role } satisfies CrmRecord);
          items.push({ key: k, marketoId: guid, outcome });
        }
        const { crmIds, written, failed } = await write('opportunityRole', items, 'marketo_guid');
        await deps.store.errors.record(refused);
        await recordAttempts(staging, input.runId, 'opportunityRole', keys.map((k) => ({ key: roleKeyText(k), crmId: crmIds.get(roleKeyText(k)) ?? null })));
        return { taken: keys.length, records: records.length, written, failed: failed + refused.length, apiCalls: fetched.reduce((n, f) => n + f.calls, 0) + conversion.apiCalls };
      });
    },

    linkSalesReferences,
  };
}

export type SalesActivities = ReturnType<typeof createSalesActivities>;
