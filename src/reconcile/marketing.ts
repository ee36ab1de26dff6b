import type { CrmRecord } from '../crm/connector.js';
import { campaignMemberRecord, campaignRecord } from '../marketing/campaign-record.js';
import { listMemberRecord, staticListRecord } from '../marketing/static-list-record.js';
import { sameValue } from './compare.js';
import { textOrNull } from '../marketo/values.js';
import type { ReconcileContext } from './context.js';
import { emptyReport, KeyedComparison, type EntityReport, type FieldMismatch } from './report.js';

/**
 * Marketo-only objects the sync carries one way into the CRM: programs as campaigns with their
 * membership, static lists with theirs. Each Marketo record is turned into the CRM record the
 * bootstrap would write (src/marketing builders) and compared column by column; membership keys
 * are the (program or list id, lead id) pair held in the CRM's id columns, so a second row for
 * the same pair under another `marketo_key` shows as a duplicate.
 */

/** Compares the columns `expected` has, except those named; undefined when all are equal. */
function compareBuilt(expected: CrmRecord, actual: CrmRecord, key: string, skip: ReadonlySet<string>, showValues: boolean): FieldMismatch | undefined {
  const fields = Object.keys(expected).filter((f) => !skip.has(f) && !sameValue(expected[f], actual[f]));
  if (fields.length === 0) return undefined;
  if (!showValues) return { key, fields };
  return { key, fields, values: Object.fromEntries(fields.map((f) => [f, { marketo: expected[f], crm: actual[f] }])) };
}

/** Links to the CRM's person records depend on the id map and on later conversions: not compared here. */
const PERSON_LINKS = new Set(['lead_id', 'contact_id']);
/**
 * Marketo's change stamp of a program or list moves with every membership change, which the
 * membership comparison covers; on its own it is bookkeeping, not data the sync carries.
 */
const HEADER_SKIP = new Set([...PERSON_LINKS, 'marketo_updated_at']);

function uncompared(report: EntityReport, records: CrmRecord[], keyColumn: string, what: string): CrmRecord[] {
  const keyed = records.filter((r) => textOrNull(r[keyColumn]) !== null);
  if (keyed.length < records.length) report.notes.push(`${records.length - keyed.length} CRM ${what} without a Marketo id (CRM-born) are not compared`);
  return keyed;
}

export async function reconcilePrograms(ctx: ReconcileContext): Promise<EntityReport[]> {
  const marketo = ctx.deps.marketo;
  let started = ctx.calls();
  const programs = emptyReport('programs');
  const members = emptyReport('programMembers');
  if (!(await ctx.crmHas('campaign')) || !(await ctx.crmHas('campaignMember'))) {
    programs.notes.push('the CRM has no campaign/campaignMember entities: nothing compared');
    return [programs];
  }
  const crmCampaigns = uncompared(programs, await ctx.crmRecords('campaign'), 'marketo_program_id', 'campaigns');
  const campaignByProgram = new Map(crmCampaigns.map((c) => [String(c.marketo_program_id), String(c.id)]));
  const cmp = new KeyedComparison<CrmRecord, CrmRecord>(programs, ctx.sample);
  for (const c of crmCampaigns) cmp.addCrm(String(c.marketo_program_id), String(c.id), c);
  const programIds: number[] = [];
  for await (const page of marketo.programs.iterateBrowse()) {
    for (const p of page) {
      programIds.push(p.id);
      cmp.addMarketo(String(p.id), String(p.id), campaignRecord(JSON.parse(JSON.stringify(p)) as Parameters<typeof campaignRecord>[0]));
    }
  }
  cmp.run((m, c, key) => compareBuilt(m, c, key, HEADER_SKIP, ctx.showValues));
  programs.notes.push(`every program read through Browse Programs (asset API, 200 a call); key = program id (CRM marketo_program_id)`);
  programs.apiCalls = ctx.calls() - started;

  started = ctx.calls();
  const memberCmp = new KeyedComparison<CrmRecord, CrmRecord>(members, ctx.sample);
  const crmMembers = uncompared(members, await ctx.crmRecords('campaignMember'), 'marketo_program_id', 'campaign members');
  for (const m of crmMembers) memberCmp.addCrm(`${String(m.marketo_program_id)}:${String(m.marketo_lead_id)}`, String(m.id), m);
  for (const programId of programIds) {
    for await (const page of marketo.leads.iterateByProgramId(programId, { fields: ['id'] })) {
      for (const lead of page.items) {
        const row = { ...(JSON.parse(JSON.stringify(lead.membership)) as Record<string, unknown>), programId, leadId: lead.id };
        memberCmp.addMarketo(`${programId}:${lead.id}`, `${programId}:${lead.id}`, campaignMemberRecord(row, { campaignId: campaignByProgram.get(String(programId)) ?? null }));
      }
    }
  }
  // success_date: the bulk member export cannot read it everywhere (docs/marketing-data.md), so it is not compared.
  const skip = new Set([...PERSON_LINKS, 'marketo_key', 'success_date']);
  memberCmp.run((m, c, key) => compareBuilt(m, c, key, skip, ctx.showValues));
  members.notes.push(`members of each program read with Get Leads by Program Id (300 a call); key = programId:leadId`);
  members.apiCalls = ctx.calls() - started;
  return [programs, members];
}

export async function reconcileStaticLists(ctx: ReconcileContext): Promise<EntityReport[]> {
  const marketo = ctx.deps.marketo;
  let started = ctx.calls();
  const lists = emptyReport('staticLists');
  const members = emptyReport('listMembers');
  if (!(await ctx.crmHas('staticList')) || !(await ctx.crmHas('listMember'))) {
    lists.notes.push('the CRM has no staticList/listMember entities: nothing compared');
    return [lists];
  }
  const crmLists = uncompared(lists, await ctx.crmRecords('staticList'), 'marketo_list_id', 'static lists');
  const crmListByMarketo = new Map(crmLists.map((l) => [String(l.marketo_list_id), String(l.id)]));
  const cmp = new KeyedComparison<CrmRecord, CrmRecord>(lists, ctx.sample);
  for (const l of crmLists) cmp.addCrm(String(l.marketo_list_id), String(l.id), l);
  const listIds: number[] = [];
  for await (const page of marketo.lists.iterate()) {
    for (const l of page.items) {
      listIds.push(l.id);
      cmp.addMarketo(String(l.id), String(l.id), staticListRecord(JSON.parse(JSON.stringify(l)) as Parameters<typeof staticListRecord>[0]));
    }
  }
  cmp.run((m, c, key) => compareBuilt(m, c, key, HEADER_SKIP, ctx.showValues));
  lists.notes.push('every static list read through Get Lists (lead database API, 300 a call); key = list id (CRM marketo_list_id)');
  lists.apiCalls = ctx.calls() - started;

  started = ctx.calls();
  const memberCmp = new KeyedComparison<CrmRecord, CrmRecord>(members, ctx.sample);
  const crmMembers = uncompared(members, await ctx.crmRecords('listMember'), 'marketo_list_id', 'list members');
  for (const m of crmMembers) memberCmp.addCrm(`${String(m.marketo_list_id)}:${String(m.marketo_lead_id)}`, String(m.id), m);
  for (const listId of listIds) {
    for await (const page of marketo.leads.iterateByListId(listId, { fields: ['id'] })) {
      for (const lead of page.items) {
        memberCmp.addMarketo(`${listId}:${lead.id}`, `${listId}:${lead.id}`, listMemberRecord(listId, lead.id, { staticListId: crmListByMarketo.get(String(listId)) ?? null }));
      }
    }
  }
  memberCmp.run((m, c, key) => compareBuilt(m, c, key, new Set([...PERSON_LINKS, 'marketo_key']), ctx.showValues));
  members.notes.push('members of each list read with Get Leads by List Id (300 a call); key = listId:leadId');
  members.apiCalls = ctx.calls() - started;
  return [lists, members];
}
