import type { CrmConnector, CrmRecord } from '../../crm/connector.js';
import { compileToMarketo, splitCompanyFields, type MarketoRecord } from '../../mapping/apply.js';
import type { MarketoClient } from '../../marketo/index.js';
import { BulkImportApi } from '../../marketo/bulk/import.js';
import type { ImportRecord } from '../../marketo/bulk/import-files.js';
import type { StateStore } from '../../store/state-store.js';
import type { PushContext } from './context.js';
import { loadKeyResolver } from './marketo-keys.js';
import { integralDecimalFields, normalizeCrmRecord } from './normalize.js';
import type { PushOptions } from './options.js';
import { chunks, type PushTally } from './tally.js';

export type PersonType = 'lead' | 'contact';

export interface PersonChange {
  type: PersonType;
  record: CrmRecord;
}

interface ReadyPerson {
  type: PersonType;
  crmId: string;
  lead: MarketoRecord;
  /**
   * Set when the CRM record carries a Marketo lead id that the id map links to another CRM
   * record (a lead converted to a contact): that Marketo lead is updated by id, which also
   * writes the new CRM key into the lookup field (seed, Lead Conversion step 1), instead of
   * creating a second lead under the new key.
   */
  rekeyMarketoId?: number;
}

export interface PersonWriteResult {
  mode: 'rest' | 'bulk' | 'none';
  calls: number;
  companyUpdates: number;
}

export interface PersonWriterDeps {
  marketo: MarketoClient;
  store: Pick<StateStore, 'idMap'>;
  crm: Pick<CrmConnector, 'getRecords'>;
}

/**
 * Pushes CRM leads and contacts as Marketo leads: createOrUpdate with the lookup field that
 * holds the CRM key, by REST (300 a call) or, from `bulkThreshold` persons on, by Bulk Lead
 * Import. Company-type fields of persons linked to a company are written to the company
 * instead (seed: they are deferred to it; Marketo skips such a lead with 1021 otherwise).
 */
export async function pushPersons(
  deps: PersonWriterDeps,
  context: PushContext,
  changes: readonly PersonChange[],
  tally: PushTally,
  options: PushOptions,
): Promise<PersonWriteResult> {
  const lookupField = context.config.leadKey.marketoField;
  const mappers = new Map<PersonType, (r: CrmRecord) => ReturnType<ReturnType<typeof compileToMarketo>>>();
  for (const type of ['lead', 'contact'] as const) {
    const records = changes.filter((c) => c.type === type).map((c) => c.record);
    if (records.length === 0) continue;
    const compiled = compileToMarketo(context.config, type, 'lead', context.schemas, context.describe);
    const integral = integralDecimalFields(context, type, 'lead');
    // account_id / owner_id of a Marketo-born company or salesperson become its Marketo key.
    const keys = await loadKeyResolver(deps.crm, context.describe, type, records);
    mappers.set(type, (r) => compiled(normalizeCrmRecord(keys(r), integral)));
  }
  const mapperFor = (type: PersonType) => mappers.get(type)!;

  const idField = context.config.leadKey.crmMarketoIdField;
  const rekeys = await rekeyCandidates(deps, changes, idField);
  const persons: ReadyPerson[] = [];
  const companies = new Map<string, { company: MarketoRecord; owners: { type: PersonType; crmId: string }[] }>();
  for (const { type, record } of changes) {
    const crmId = String(record.id);
    // A converted lead lives on as its contact, which carries its Marketo person; pushing the
    // lead too would create a second person under the old key.
    if (type === 'lead' && record.is_converted === true) continue;
    const mapped = mapperFor(type)(record);
    if (!mapped.ok) {
      tally.fail(type, crmId, 'crm', 'MAPPING', mapped.errors.join('; '));
      continue;
    }
    // The lookup key is the CRM id whatever the mapping says about it.
    const { person, company } = splitCompanyFields({ ...mapped.record, [lookupField]: crmId }, context.schemas);
    const rekey = rekeys.get(`${type}:${crmId}`);
    persons.push({ type, crmId, lead: person, ...(rekey !== undefined ? { rekeyMarketoId: rekey } : {}) });
    if (Object.keys(company).length > 1) {
      const key = String(company.externalCompanyId);
      const entry = companies.get(key);
      // Several persons of one company changed in the window: the last one's values win.
      if (entry) {
        Object.assign(entry.company, company);
        entry.owners.push({ type, crmId });
      } else companies.set(key, { company, owners: [{ type, crmId }] });
    }
  }

  let calls = 0;
  const blocked = new Set<string>();
  for (const batch of chunks([...companies.values()], options.batchSize)) {
    calls++;
    const outcomes = await deps.marketo.companies.sync({ action: 'createOrUpdate', dedupeBy: 'dedupeFields', input: batch.map((b) => b.company) });
    outcomes.forEach((o, i) => {
      if (o.status !== 'skipped') return;
      for (const owner of batch[i]!.owners) {
        tally.skip(owner.type, owner.crmId, o.reasons);
        blocked.add(`${owner.type}:${owner.crmId}`);
      }
    });
  }
  // A person whose company part was refused is not half-written: its lead part waits for the retry too.
  const ready = persons.filter((p) => !blocked.has(`${p.type}:${p.crmId}`));
  for (const batch of chunks(ready.filter((p) => p.rekeyMarketoId !== undefined), options.batchSize)) {
    calls++;
    const input = batch.map((p) => ({ ...p.lead, id: p.rekeyMarketoId }));
    const outcomes = await deps.marketo.leads.sync({ action: 'updateOnly', lookupField: 'id', input });
    outcomes.forEach((o, i) => {
      const p = batch[i]!;
      if (o.status === 'skipped') tally.skip(p.type, p.crmId, o.reasons);
      else tally.ok(p.type, p.crmId, { entity: 'lead', marketoId: String(p.rekeyMarketoId), crmType: p.type });
    });
  }
  const toWrite = ready.filter((p) => p.rekeyMarketoId === undefined);
  if (toWrite.length === 0) return { mode: calls > 0 ? 'rest' : 'none', calls, companyUpdates: companies.size };
  if (toWrite.length >= options.bulkThreshold) {
    calls += await bulkWrite(deps, toWrite, lookupField, tally, options);
    return { mode: 'bulk', calls, companyUpdates: companies.size };
  }
  for (const batch of chunks(toWrite, options.batchSize)) {
    calls++;
    const outcomes = await deps.marketo.leads.sync({ action: 'createOrUpdate', lookupField, input: batch.map((p) => p.lead) });
    outcomes.forEach((o, i) => {
      const p = batch[i]!;
      if (o.status === 'skipped' || o.id === undefined) tally.skip(p.type, p.crmId, o.reasons);
      else tally.ok(p.type, p.crmId, { entity: 'lead', marketoId: String(o.id), crmType: p.type });
    });
  }
  return { mode: 'rest', calls, companyUpdates: companies.size };
}

/** Persons whose CRM record names a Marketo lead the id map links to a different CRM record (or to none). */
async function rekeyCandidates(deps: PersonWriterDeps, changes: readonly PersonChange[], idField: string): Promise<Map<string, number>> {
  const named = changes.flatMap((c) => {
    const v = c.record[idField];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
    return n !== undefined && Number.isSafeInteger(n) && n > 0 ? [{ key: `${c.type}:${String(c.record.id)}`, type: c.type, crmId: String(c.record.id), marketoId: n }] : [];
  });
  const out = new Map<string, number>();
  if (named.length === 0) return out;
  const links = await deps.store.idMap.byMarketoIds('lead', named.map((n) => String(n.marketoId)));
  for (const n of named) {
    const link = links.get(String(n.marketoId));
    if (!link || link.crmType !== n.type || link.crmId !== n.crmId) out.set(n.key, n.marketoId);
  }
  return out;
}

/**
 * Bulk Lead Import returns no lead ids, so after the import the persons the id map does not
 * know yet are looked up by the lookup field (300 a call): new leads cost those extra calls,
 * updates of known leads none. Returns the calls made outside the import itself.
 */
async function bulkWrite(deps: PersonWriterDeps, persons: ReadyPerson[], lookupField: string, tally: PushTally, options: PushOptions): Promise<number> {
  const columns = [...new Set(persons.flatMap((p) => Object.keys(p.lead)))];
  const failed = new Set<number>();
  const api = new BulkImportApi(deps.marketo);
  const summary = await api.run(
    { kind: 'leads', lookupField },
    persons.map((p) => p.lead as ImportRecord),
    { columns, pollIntervalMs: options.bulkPollIntervalMs, ...(options.bulkMaxFileBytes !== undefined ? { maxFileBytes: options.bulkMaxFileBytes } : {}) },
    (row) => {
      if (row.kind !== 'failure') return;
      const p = row.inputIndex >= 0 ? persons[row.inputIndex] : undefined;
      if (!p) return;
      failed.add(row.inputIndex);
      tally.fail(p.type, p.crmId, 'marketo', 'IMPORT_FAILED', row.reason);
    },
  );
  if (summary.unmatched > 0) {
    // A failure row that cannot be traced to its record must not let the watermark pass it silently.
    throw new Error(`bulk lead import reported ${summary.unmatched} failed rows that could not be matched to input records`);
  }
  const imported = persons.filter((_, i) => !failed.has(i));
  const known = new Map<string, string>();
  for (const type of ['lead', 'contact'] as const) {
    const ids = imported.filter((p) => p.type === type).map((p) => p.crmId);
    if (ids.length === 0) continue;
    for (const [crmId, link] of await deps.store.idMap.byCrmIds('lead', type, ids)) known.set(`${type}:${crmId}`, link.marketoId);
  }
  let calls = summary.batches.length;
  const unknown: ReadyPerson[] = [];
  for (const p of imported) {
    const marketoId = known.get(`${p.type}:${p.crmId}`);
    if (marketoId) tally.ok(p.type, p.crmId, { entity: 'lead', marketoId, crmType: p.type });
    else unknown.push(p);
  }
  for (const batch of chunks(unknown, 300)) {
    calls++;
    const page = await deps.marketo.leads.getByFilter({ filterType: lookupField, filterValues: batch.map((p) => p.crmId), fields: ['id', lookupField] });
    const byKey = new Map(page.items.map((l) => [String(l[lookupField]), l.id]));
    for (const p of batch) {
      const id = byKey.get(p.crmId);
      if (id === undefined) tally.fail(p.type, p.crmId, 'marketo', 'NOT_FOUND_AFTER_IMPORT', 'imported without a failure, but no lead holds this CRM key');
      else tally.ok(p.type, p.crmId, { entity: 'lead', marketoId: String(id), crmType: p.type });
    }
  }
  return calls;
}
