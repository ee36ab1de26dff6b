import type { CrmEntityName, CrmRecord } from '../../crm/connector.js';
import type { MarketoRecord } from '../../mapping/apply.js';
import type { MarketoClient, ObjectApi } from '../../marketo/index.js';
import type { Tombstone } from './change-reader.js';
import { marketoKeyOfCrmId, type PushContext } from './context.js';
import { deleteObjects, type DeleteKey } from './deleter.js';
import { loadKeyResolver } from './marketo-keys.js';
import { MARKETO_KEY_FIELDS, ROLE_GUID_FIELD } from '../../crm/marketo-keys.js';
import { mappingEnabled, upsertObjects, type ObjectTarget } from './object-writer.js';
import { pushPersons, type PersonChange } from './person-writer.js';
import { mergeConvertedLeads } from './conversion-merges.js';
import { ledgerRetries, runStep, type PushDeps, type StepSummary } from './run-step.js';
import { PUSH_DELETE_OPERATION } from './streams.js';
import { chunks } from './tally.js';

export type { PushDeps, StepSummary } from './run-step.js';

type ObjectName = ObjectTarget['marketo'];

function objectApi(marketo: MarketoClient, name: ObjectName): ObjectApi {
  switch (name) {
    case 'company':
      return marketo.companies;
    case 'opportunity':
      return marketo.opportunities;
    case 'opportunityRole':
      return marketo.opportunityRoles;
    case 'salesPerson':
      return marketo.salesPersons;
    default:
      throw new Error(`the push does not handle Marketo object ${name}`);
  }
}

function only(marketo: ObjectName, crm: CrmEntityName): (context: PushContext) => CrmEntityName[] {
  return (context) => (mappingEnabled(context, marketo, crm) ? [crm] : []);
}

function objectUpsertStep(deps: PushDeps, step: string, marketo: ObjectName, crm: CrmEntityName) {
  return runStep(deps, step, only(marketo, crm), 'upsert', async (context, windows, tally) => {
    const records = windows.get(crm)!.upserts;
    const retries = await ledgerRetries(deps, crm, records);
    const target = { marketo, crm, api: objectApi(deps.marketo, marketo) };
    const all = [...records, ...retries];
    const keys = await loadKeyResolver(deps.crm, context.describe, crm, all);
    const { calls } = await upsertObjects(context, target, all, tally, { batchSize: deps.options.batchSize, keys });
    return { calls, read: retries.length };
  });
}

/** Seed step 1: CRM users → Marketo SalesPersons (by externalSalesPersonId). */
export function pushSalesPersons(deps: PushDeps): Promise<StepSummary> {
  return objectUpsertStep(deps, 'pushSalesPersons', 'salesPerson', 'user');
}

/** Seed step 2: CRM accounts → Marketo Companies (by externalCompanyId). */
export function pushCompanies(deps: PushDeps): Promise<StepSummary> {
  return objectUpsertStep(deps, 'pushCompanies', 'company', 'account');
}

/** Seed step 8: CRM opportunities → Marketo Opportunities (by externalOpportunityId). */
export function pushOpportunities(deps: PushDeps): Promise<StepSummary> {
  return objectUpsertStep(deps, 'pushOpportunities', 'opportunity', 'opportunity');
}

/** Seed step 3: CRM leads and contacts → Marketo leads (createOrUpdate by the CRM-key lookup field). */
export function pushLeads(deps: PushDeps): Promise<StepSummary> {
  const types = ['lead', 'contact'] as const;
  const enabledTypes = (c: PushContext) => types.filter((t) => mappingEnabled(c, 'lead', t));
  return runStep(deps, 'pushLeads', enabledTypes, 'upsert', async (context, windows, tally) => {
    const changes: PersonChange[] = [];
    let retried = 0;
    for (const type of types) {
      const window = windows.get(type);
      if (!window) continue;
      const records = window.upserts;
      const retries = await ledgerRetries(deps, type, records);
      retried += retries.length;
      for (const record of [...records, ...retries]) changes.push({ type, record });
    }
    // Before the contact's values go out: a lead converted into a contact with its own person is merged into it.
    const mergeCalls = await mergeConvertedLeads(deps, changes, tally, context.config.leadKey.crmMarketoIdField);
    const r = await pushPersons(deps, context, changes, tally, deps.options);
    return { calls: mergeCalls + r.calls, read: retried, mode: r.mode };
  });
}

/**
 * Seed step 9: CRM contact roles → Marketo Opportunity Roles (compound key externalOpportunityId,
 * leadId, role). leadId is the Marketo id of the role's contact, from the id map; a contact not
 * in Marketo yet is ledgered. When a role's key changed in the CRM (another role name or
 * contact), Marketo holds it under a new key: the record under the old key is deleted.
 */
export function pushOpportunityRoles(deps: PushDeps): Promise<StepSummary> {
  return runStep(deps, 'pushOpportunityRoles', only('opportunityRole', 'opportunityRole'), 'upsert', async (context, windows, tally) => {
    const records = windows.get('opportunityRole')!.upserts;
    const retries = await ledgerRetries(deps, 'opportunityRole', records);
    const all = [...records, ...retries];
    const personRefs = personReferenceFields(context, 'opportunityRole');
    const leadIds = await marketoLeadIds(deps, all, personRefs);
    const previous = await deps.store.idMap.byCrmIds('opportunityRole', 'opportunityRole', all.map((r) => String(r.id)));
    const target = { marketo: 'opportunityRole' as const, crm: 'opportunityRole' as const, api: deps.marketo.opportunityRoles };
    const keys = await loadKeyResolver(deps.crm, context.describe, 'opportunityRole', all);
    const { calls, written } = await upsertObjects(context, target, all, tally, {
      batchSize: deps.options.batchSize,
      toMarketo: { marketoLeadId: (type, crmId) => leadIds.get(`${type}:${crmId}`) },
      keys,
    });
    await keepRoleGuids(deps, context, all, written);
    const stale: MarketoRecord[] = [];
    for (const [crmId, outcome] of written) {
      const before = previous.get(crmId)?.marketoId;
      if (before !== undefined && outcome.marketoGUID !== undefined && before !== outcome.marketoGUID) stale.push({ marketoGUID: before });
    }
    let extra = 0;
    for (const batch of chunks(stale, deps.options.batchSize)) {
      extra++;
      // Best effort: a leftover old-key role only misattributes until an operator removes it, so it does not fail the step.
      await deps.marketo.opportunityRoles.delete({ deleteBy: 'idField', input: batch });
    }
    return { calls: calls + extra, read: retries.length };
  });
}

/**
 * Writes the GUID Marketo gave each role into the CRM role, so the CRM (and the role's tombstone)
 * knows its Marketo record. Such a key-only write by the sync keeps the row's stamp and origin
 * (crm-schema migration 4): it neither echoes nor hides a user's edit made meanwhile. Best effort:
 * a role deleted meanwhile simply has nothing to record, and the id map holds the GUID anyway.
 */
async function keepRoleGuids(deps: PushDeps, context: PushContext, records: readonly CrmRecord[], written: ReadonlyMap<string, { marketoGUID?: string }>): Promise<void> {
  const hasField = context.describe.entities.find((e) => e.name === 'opportunityRole')?.fields.some((f) => f.name === ROLE_GUID_FIELD && f.updateable);
  if (!hasField) return;
  const updates: CrmRecord[] = [];
  for (const r of records) {
    const guid = written.get(String(r.id))?.marketoGUID;
    if (guid !== undefined && r[ROLE_GUID_FIELD] !== guid) updates.push({ id: String(r.id), [ROLE_GUID_FIELD]: guid });
  }
  for (const batch of chunks(updates, 1000)) await deps.crm.upsert('opportunityRole', batch, { keyField: 'id', updateOnly: true });
}

/** CRM fields of an entity that reference persons (their Marketo ids come from the id map). */
function personReferenceFields(context: PushContext, crm: CrmEntityName): { name: string; type: 'lead' | 'contact' }[] {
  const entity = context.describe.entities.find((e) => e.name === crm);
  return (entity?.fields ?? []).flatMap((f) => (f.type === 'reference' && (f.references === 'lead' || f.references === 'contact') ? [{ name: f.name, type: f.references }] : []));
}

async function marketoLeadIds(deps: PushDeps, records: readonly CrmRecord[], refs: readonly { name: string; type: 'lead' | 'contact' }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const type of ['lead', 'contact'] as const) {
    const ids = new Set<string>();
    for (const r of records) for (const ref of refs) if (ref.type === type && r[ref.name] !== null && r[ref.name] !== undefined) ids.add(String(r[ref.name]));
    if (ids.size === 0) continue;
    for (const [crmId, link] of await deps.store.idMap.byCrmIds('lead', type, [...ids])) out.set(`${type}:${crmId}`, link.marketoId);
  }
  return out;
}

/**
 * Keys of the Marketo records behind CRM tombstones, plus earlier deletes Marketo refused (open
 * `push-delete` ledger entries, e.g. a salesperson still in use), which are tried again.
 */
async function deleteKeys(deps: PushDeps, context: PushContext, marketo: ObjectName, crm: CrmEntityName, tombstones: readonly Tombstone[]): Promise<{ keys: DeleteKey[]; retried: number }> {
  const fromTombstones = new Set(tombstones.map((t) => t.id));
  const open = (await deps.store.errors.list({ status: 'open', entity: crm, limit: 1000 }))
    .concat(await deps.store.errors.dueForRetry(crm, PUSH_DELETE_OPERATION, 1000))
    .filter((e) => e.operation === PUSH_DELETE_OPERATION && !fromTombstones.has(e.recordKey));
  const retryIds = [...new Set(open.map((e) => e.recordKey))];
  const crmIds = [...fromTombstones, ...retryIds];
  const linked = await deps.store.idMap.byCrmIds(marketo, crm, crmIds);
  const keyField = marketoKeyOfCrmId(context.config, marketo, crm);
  const idField = marketo === 'company' || marketo === 'salesPerson' ? 'id' : 'marketoGUID';
  const compound = marketo === 'opportunityRole' ? await compoundRoleKeys(deps, context, tombstones) : new Map<string, MarketoRecord>();
  const tombstoneOf = new Map(tombstones.map((t) => [t.id, t]));
  const keptKeyField = MARKETO_KEY_FIELDS[crm as keyof typeof MARKETO_KEY_FIELDS];
  const keys: DeleteKey[] = [];
  for (const crmId of crmIds) {
    const marketoId = linked.get(crmId)?.marketoId;
    const tombstone = tombstoneOf.get(crmId);
    // A Marketo-born record is known to Marketo by the key its tombstone kept, not by its CRM id.
    const kept = keptKeyField ? tombstone?.keys[keptKeyField] : undefined;
    const guid = marketo === 'opportunityRole' ? (marketoId ?? tombstone?.keys[ROLE_GUID_FIELD] ?? undefined) : marketoId;
    if (keyField && (tombstone || !marketoId)) keys.push({ crmId, by: 'dedupeFields', key: { [keyField]: kept || crmId }, ...(marketoId ? { marketoId } : {}) });
    else if (guid) keys.push({ crmId, by: 'idField', key: { [idField]: idField === 'id' ? Number(guid) : guid }, marketoId: guid });
    else if (compound.has(crmId)) keys.push({ crmId, by: 'dedupeFields', key: compound.get(crmId)! });
    // Otherwise Marketo never had it from us (no link, no key): nothing to delete.
  }
  return { keys, retried: retryIds.length };
}

/** Dedupe keys of deleted roles rebuilt from the tombstone's kept keys through the mapping. */
async function compoundRoleKeys(deps: PushDeps, context: PushContext, tombstones: readonly Tombstone[]): Promise<Map<string, MarketoRecord>> {
  const meta = context.schemas.opportunityRole;
  const entity = context.config.entities.find((e) => e.marketo === 'opportunityRole' && e.crm === 'opportunityRole');
  const out = new Map<string, MarketoRecord>();
  if (!meta || !entity) return out;
  const crmField = (m: string) => entity.fields.find((f) => f.enabled && f.marketo === m && f.direction !== 'toCrm')?.crm;
  const refs = personReferenceFields(context, 'opportunityRole');
  const kept = tombstones.map((t) => t.keys as CrmRecord);
  const leadIds = await marketoLeadIds(deps, kept, refs);
  // opportunity_id of a Marketo-born opportunity becomes its externalOpportunityId.
  const resolve = await loadKeyResolver(deps.crm, context.describe, 'opportunityRole', kept);
  for (const t of tombstones) {
    const key: MarketoRecord = {};
    const keys = resolve(t.keys as CrmRecord);
    for (const field of meta.dedupeFields) {
      const c = crmField(field);
      const raw = c ? keys[c] : undefined;
      if (raw === undefined || raw === null) break;
      const ref = refs.find((r) => r.name === c);
      const value = ref ? leadIds.get(`${ref.type}:${raw}`) : raw;
      if (value === undefined) break;
      key[field] = ref ? Number(value) : value;
    }
    if (Object.keys(key).length === meta.dedupeFields.length) out.set(t.id, key);
  }
  return out;
}

function objectDeleteStep(deps: PushDeps, step: string, marketo: ObjectName, crm: CrmEntityName) {
  return runStep(deps, step, only(marketo, crm), 'delete', async (context, windows, tally) => {
    const { keys, retried } = await deleteKeys(deps, context, marketo, crm, windows.get(crm)!.deletes);
    const { calls } = await deleteObjects({ marketo, crm, api: objectApi(deps.marketo, marketo) }, keys, tally, { batchSize: deps.options.batchSize });
    return { calls, read: retried };
  });
}

/** Seed step 10: roles deleted in the CRM (also those removed with their opportunity), before their opportunities. */
export function deleteOpportunityRoles(deps: PushDeps): Promise<StepSummary> {
  return objectDeleteStep(deps, 'deleteOpportunityRoles', 'opportunityRole', 'opportunityRole');
}

/**
 * Seed step 11. The seed wants every child role gone before its opportunity: step 10 removed the
 * roles the CRM deleted; roles Marketo holds that the CRM never had (made in Marketo, or never
 * linked) are found by externalOpportunityId and deleted here first. An opportunity whose roles
 * cannot all be deleted is ledgered and kept.
 */
export function deleteOpportunities(deps: PushDeps): Promise<StepSummary> {
  return runStep(deps, 'deleteOpportunities', only('opportunity', 'opportunity'), 'delete', async (context, windows, tally) => {
    const { keys, retried } = await deleteKeys(deps, context, 'opportunity', 'opportunity', windows.get('opportunity')!.deletes);
    let calls = 0;
    const blocked = new Set<string>();
    const byExternalId = new Map(keys.flatMap((k) => (typeof k.key.externalOpportunityId === 'string' ? [[k.key.externalOpportunityId, k.crmId] as const] : [])));
    for (const batch of chunks([...byExternalId.keys()], deps.options.batchSize)) {
      const children: { guid: string; opportunity: string }[] = [];
      for await (const page of deps.marketo.opportunityRoles.iterate({ filterType: 'externalOpportunityId', filterValues: batch, fields: ['marketoGUID', 'externalOpportunityId'] })) {
        calls++;
        for (const role of page.items) children.push({ guid: String(role.marketoGUID), opportunity: String(role.externalOpportunityId) });
      }
      for (const part of chunks(children, deps.options.batchSize)) {
        calls++;
        const outcomes = await deps.marketo.opportunityRoles.delete({ deleteBy: 'idField', input: part.map((c) => ({ marketoGUID: c.guid })) });
        const gone: string[] = [];
        outcomes.forEach((o, i) => {
          const child = part[i]!;
          if (o.status === 'deleted' || o.reasons.some((r) => r.code === '1013')) gone.push(child.guid);
          else if (!blocked.has(child.opportunity)) {
            blocked.add(child.opportunity);
            tally.skip('opportunity', byExternalId.get(child.opportunity) ?? child.opportunity, o.reasons);
          }
        });
        tally.unlink('opportunityRole', gone);
      }
    }
    const ready = keys.filter((k) => !blocked.has(String(k.key.externalOpportunityId)));
    const result = await deleteObjects({ marketo: 'opportunity', crm: 'opportunity', api: deps.marketo.opportunities }, ready, tally, { batchSize: deps.options.batchSize });
    return { calls: calls + result.calls, read: retried };
  });
}

/** Seed step 12. */
export function deleteCompanies(deps: PushDeps): Promise<StepSummary> {
  return objectDeleteStep(deps, 'deleteCompanies', 'company', 'account');
}

/**
 * Seed step 13. Runs after the cycle's lead push, which carried the CRM's reassignment or
 * clearing of the owner (deleting a CRM user clears `owner_id` on its persons) to Marketo.
 * Marketo refuses to delete a salesperson leads still point at (1022): that delete is
 * ledgered and tried again every run until the leads have moved.
 */
export function deleteSalesPersons(deps: PushDeps): Promise<StepSummary> {
  return objectDeleteStep(deps, 'deleteSalesPersons', 'salesPerson', 'user');
}
