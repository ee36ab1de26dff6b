import type { CrmConnector, CrmRecord } from '../../crm/connector.js';
import { compileToMarketo, splitCompanyFields, type MarketoRecord } from '../../mapping/apply.js';
import type { MarketoClient, RecordReason } from '../../marketo/index.js';
import { BulkImportApi } from '../../marketo/bulk/import.js';
import type { ImportRecord } from '../../marketo/bulk/import-files.js';
import type { StateStore } from '../../store/state-store.js';
import { DELETED_FLAG_FIELD } from '../pull/deletes.js';
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
}

/** A person whose Marketo lead is known: written by that id, never through the CRM-key lookup. */
interface KnownPerson {
  person: ReadyPerson;
  marketoId: number;
}

/** Ledger code of a person whose whole import batch failed: retried by the next run without an operator. */
export const IMPORT_BATCH_FAILED = 'IMPORT_BATCH_FAILED';

/** Marketo's "not found" for a lead id: the lead was deleted or merged away in Marketo. */
const NOT_FOUND_CODES = new Set(['1004', '1013']);

export interface PersonWriteResult {
  mode: 'rest' | 'bulk' | 'none';
  calls: number;
  companyUpdates: number;
}

export interface PersonWriterDeps {
  marketo: MarketoClient;
  store: Pick<StateStore, 'idMap' | 'merges'>;
  crm: Pick<CrmConnector, 'getRecords'>;
}

/**
 * Pushes CRM leads and contacts as Marketo leads. A person whose Marketo lead id is known (the
 * id map, else the CRM record's Marketo id column) is written by that id (`updateOnly`), with
 * its CRM key in the lookup field so Marketo learns it; only persons Marketo does not know yet
 * go through createOrUpdate by the lookup field, by REST (300 a call) or, from `bulkThreshold`
 * of them on, by Bulk Lead Import. Otherwise a Marketo-born person (lookup field still empty in
 * Marketo) would be created a second time. Company-type fields of persons linked to a company
 * are written to the company instead (seed: they are deferred to it; Marketo skips such a lead
 * with 1021 otherwise). Persons flagged `deleted_in_marketo` are not pushed.
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
  const persons: ReadyPerson[] = [];
  const companies = new Map<string, { company: MarketoRecord; owners: { type: PersonType; crmId: string }[] }>();
  for (const { type, record } of changes) {
    const crmId = String(record.id);
    // A converted lead lives on as its contact, which carries its Marketo person; pushing the
    // lead too would create a second person under the old key.
    if (type === 'lead' && record.is_converted === true) continue;
    // Marketo deleted this person (pull, `flag` policy): a CRM edit must not recreate it.
    if (record[DELETED_FLAG_FIELD] === true) continue;
    const mapped = mapperFor(type)(record);
    if (!mapped.ok) {
      tally.fail(type, crmId, 'crm', 'MAPPING', mapped.errors.join('; '));
      continue;
    }
    // The lookup key is the CRM id whatever the mapping says about it.
    const { person, company } = splitCompanyFields({ ...mapped.record, [lookupField]: crmId }, context.schemas);
    persons.push({ type, crmId, lead: person });
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
  const knownIds = await knownMarketoIds(deps, changes, idField);
  const known: KnownPerson[] = [];
  const toWrite: ReadyPerson[] = [];
  for (const p of ready) {
    const marketoId = knownIds.get(`${p.type}:${p.crmId}`);
    if (marketoId !== undefined) known.push({ person: p, marketoId });
    else toWrite.push(p);
  }
  let mode: PersonWriteResult['mode'] = 'none';
  if (known.length >= options.bulkUpdateThreshold) {
    // Many known leads: one import by `id` (update only). Rows it refuses go through REST by id,
    // which answers Marketo's code per record and sends a merged-away lead's person to the winner.
    const bulk = await bulkUpdateKnown(deps, known, tally, options);
    calls += bulk.calls + (await updateKnown(deps, bulk.refused, tally, options));
    mode = 'bulk';
  } else {
    calls += await updateKnown(deps, known, tally, options);
    if (calls > 0) mode = 'rest';
  }
  if (toWrite.length === 0) return { mode, calls, companyUpdates: companies.size };
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
  return { mode: mode === 'bulk' ? 'bulk' : 'rest', calls, companyUpdates: companies.size };
}

function positiveId(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The Marketo lead id of each person, keyed `type:crmId`: the id map's link, else the id the
 * CRM record carries (a person the bootstrap, the pull or a webhook created, or a contact that
 * carries its converted lead's Marketo person).
 */
async function knownMarketoIds(deps: PersonWriterDeps, changes: readonly PersonChange[], idField: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const type of ['lead', 'contact'] as const) {
    const mine = changes.filter((c) => c.type === type);
    if (mine.length === 0) continue;
    const links = await deps.store.idMap.byCrmIds('lead', type, mine.map((c) => String(c.record.id)));
    for (const c of mine) {
      const crmId = String(c.record.id);
      const id = positiveId(links.get(crmId)?.marketoId) ?? positiveId(c.record[idField]);
      if (id !== undefined) out.set(`${type}:${crmId}`, id);
    }
  }
  return out;
}

/**
 * `updateOnly` by `id`, 300 a call. A lead Marketo no longer has (1004/1013: deleted or merged
 * away) is never created again under the CRM key: a merge loser is written to its winner (the
 * store's merges map, one more call per 300), anything else is ledgered.
 */
async function updateKnown(deps: PersonWriterDeps, known: readonly KnownPerson[], tally: PushTally, options: PushOptions): Promise<number> {
  let calls = 0;
  const write = async (targets: readonly KnownPerson[], onMissing: (k: KnownPerson, reasons: readonly RecordReason[]) => void) => {
    for (const batch of chunks(targets, options.batchSize)) {
      calls++;
      const outcomes = await deps.marketo.leads.sync({ action: 'updateOnly', lookupField: 'id', input: batch.map((k) => ({ ...k.person.lead, id: k.marketoId })) });
      outcomes.forEach((o, i) => {
        const k = batch[i]!;
        const p = k.person;
        if (o.status !== 'skipped') tally.ok(p.type, p.crmId, { entity: 'lead', marketoId: String(k.marketoId), crmType: p.type });
        else if (o.reasons.some((r) => NOT_FOUND_CODES.has(r.code))) onMissing(k, o.reasons);
        else tally.skip(p.type, p.crmId, o.reasons);
      });
    }
  };
  const missing: { k: KnownPerson; reasons: readonly RecordReason[] }[] = [];
  await write(known, (k, reasons) => missing.push({ k, reasons }));
  if (missing.length === 0) return calls;
  const winners = await deps.store.merges.winners('marketo', missing.map((m) => String(m.k.marketoId)));
  const toWinner: KnownPerson[] = [];
  for (const { k, reasons } of missing) {
    const winner = positiveId(winners.get(String(k.marketoId)));
    if (winner !== undefined && winner !== k.marketoId) toWinner.push({ person: k.person, marketoId: winner });
    else tally.skip(k.person.type, k.person.crmId, reasons);
  }
  await write(toWinner, (k, reasons) => tally.skip(k.person.type, k.person.crmId, reasons));
  return calls;
}

/**
 * Bulk Lead Import with `lookupField=id`: Marketo only updates by that key (marketo-api.md
 * §11.1), so a known lead is never created twice. Returns the upload calls (status polls are not
 * counted, as for the other imports) and the persons whose rows were refused one by one, for the
 * REST path to retry with per-record codes. A batch that failed as a whole is ledgered
 * `IMPORT_BATCH_FAILED`, which the next runs retry by themselves.
 */
async function bulkUpdateKnown(deps: PersonWriterDeps, known: readonly KnownPerson[], tally: PushTally, options: PushOptions): Promise<{ calls: number; refused: KnownPerson[] }> {
  const rows = known.map((k) => ({ ...k.person.lead, id: k.marketoId }) as ImportRecord);
  const columns = ['id', ...new Set(known.flatMap((k) => Object.keys(k.person.lead)))].filter((c, i, all) => all.indexOf(c) === i);
  const failed = new Map<number, number>();
  const summary = await new BulkImportApi(deps.marketo).run(
    { kind: 'leads', lookupField: 'id' },
    rows,
    { columns, pollIntervalMs: options.bulkPollIntervalMs, ...(options.bulkMaxFileBytes !== undefined ? { maxFileBytes: options.bulkMaxFileBytes } : {}) },
    (row) => {
      if (row.kind === 'failure' && row.inputIndex >= 0 && known[row.inputIndex]) failed.set(row.inputIndex, row.fileIndex);
    },
  );
  if (summary.unmatched > 0) throw new Error(`bulk lead import by id reported ${summary.unmatched} failed rows that could not be matched to input records`);
  const wholeBatchFailed = new Set(summary.batches.filter((b) => b.status === 'Failed').map((b) => b.fileIndex));
  const refused: KnownPerson[] = [];
  known.forEach((k, i) => {
    const p = k.person;
    const fileIndex = failed.get(i);
    if (fileIndex === undefined) tally.ok(p.type, p.crmId, { entity: 'lead', marketoId: String(k.marketoId), crmType: p.type });
    else if (wholeBatchFailed.has(fileIndex)) tally.fail(p.type, p.crmId, 'marketo', IMPORT_BATCH_FAILED, 'the import batch failed as a whole');
    else refused.push(k);
  });
  return { calls: summary.batches.length, refused };
}

/**
 * Bulk Lead Import returns no lead ids, so after the import the persons the id map does not
 * know yet are looked up by the lookup field (300 a call): new leads cost those extra calls,
 * updates of known leads none. Returns the calls made outside the import itself.
 */
async function bulkWrite(deps: PersonWriterDeps, persons: ReadyPerson[], lookupField: string, tally: PushTally, options: PushOptions): Promise<number> {
  const columns = [...new Set(persons.flatMap((p) => Object.keys(p.lead)))];
  const failed = new Map<number, { fileIndex: number; reason: string }>();
  const api = new BulkImportApi(deps.marketo);
  const summary = await api.run(
    { kind: 'leads', lookupField },
    persons.map((p) => p.lead as ImportRecord),
    { columns, pollIntervalMs: options.bulkPollIntervalMs, ...(options.bulkMaxFileBytes !== undefined ? { maxFileBytes: options.bulkMaxFileBytes } : {}) },
    (row) => {
      if (row.kind !== 'failure' || row.inputIndex < 0 || !persons[row.inputIndex]) return;
      failed.set(row.inputIndex, { fileIndex: row.fileIndex, reason: row.reason });
    },
  );
  if (summary.unmatched > 0) {
    // A failure row that cannot be traced to its record must not let the watermark pass it silently.
    throw new Error(`bulk lead import reported ${summary.unmatched} failed rows that could not be matched to input records`);
  }
  // A batch that failed as a whole says nothing about its rows: they are ledgered under their own
  // code, which the next run retries by itself (the position has moved past them).
  const wholeBatchFailed = new Set(summary.batches.filter((b) => b.status === 'Failed').map((b) => b.fileIndex));
  for (const [index, f] of failed) {
    const p = persons[index]!;
    tally.fail(p.type, p.crmId, 'marketo', wholeBatchFailed.has(f.fileIndex) ? IMPORT_BATCH_FAILED : 'IMPORT_FAILED', f.reason);
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
