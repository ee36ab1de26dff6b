import { z } from 'zod';
import type { CrmRecord } from '../crm/connector.js';
import { bounded, boolCell, instantCell, optionalText, parseOrThrow, personColumns, positiveIdCell, type PersonLink } from './cells.js';

/**
 * Programs become CRM campaigns and program membership becomes campaign members, as Marketo's
 * native Salesforce sync maps them (seed, "Programs"). Keys: `marketo_program_id` on campaigns,
 * `<programId>:<leadId>` on members (the seed's compound primary key of a membership).
 */

/** A program from the asset API, as Browse Programs returns it (dates as Date or Marketo text). */
const programSchema = z.looseObject({
  id: positiveIdCell,
  name: z.string().min(1, 'a program has a name'),
  description: optionalText,
  createdAt: instantCell.nullish(),
  updatedAt: instantCell.nullish(),
  url: optionalText,
  type: optionalText,
  channel: optionalText,
  status: optionalText,
  workspace: optionalText,
});

export type ProgramInput = z.input<typeof programSchema>;

export function campaignRecord(program: ProgramInput): CrmRecord {
  const p = parseOrThrow(programSchema, program, `program ${String((program as { id?: unknown }).id)}`);
  return {
    marketo_program_id: p.id,
    name: bounded('name', p.name, 255),
    description: p.description,
    program_type: bounded('program_type', p.type, 64),
    channel: bounded('channel', p.channel, 255),
    status: bounded('status', p.status, 64),
    workspace: bounded('workspace', p.workspace, 255),
    url: bounded('url', p.url, 2048),
    marketo_created_at: p.createdAt ?? null,
    marketo_updated_at: p.updatedAt ?? null,
  };
}

export function campaignMemberKey(programId: number, leadId: number): string {
  return `${programId}:${leadId}`;
}

/**
 * Fields the bulk program member export is asked for (the REST default fields plus the status).
 * With the `programIds` filter Marketo adds a leading `programId` column, so every row names its
 * program. `reachedSuccessDate` is left out: it is not an export field everywhere (see
 * docs/marketing-data.md), so `success_date` stays empty.
 */
export const PROGRAM_MEMBER_EXPORT_FIELDS = ['leadId', 'membershipDate', 'progressionStatus', 'acquiredBy', 'reachedSuccess'] as const;

/**
 * One membership: a bulk program member row (text cells, `programId` column present), or a REST
 * read (`GET /rest/v1/leads/programs/{id}.json`: the lead's `id` and its `membership` object,
 * flattened by the caller into `{programId, leadId, ...membership}`).
 */
const memberSchema = z.looseObject({
  programId: positiveIdCell,
  leadId: positiveIdCell,
  progressionStatus: optionalText,
  membershipDate: instantCell.nullish(),
  reachedSuccess: boolCell.nullish(),
  reachedSuccessDate: instantCell.nullish(),
  acquiredBy: boolCell.nullish(),
});

export type ProgramMemberInput = z.input<typeof memberSchema>;

export interface CampaignMemberContext {
  /** CRM id of the member's campaign (the program's campaign record), if it was written. */
  campaignId: string | null;
  person?: PersonLink | undefined;
}

/** The program and lead ids of a membership row, to look up its campaign and person first. */
export function memberIds(row: Record<string, unknown>): { programId: number; leadId: number } {
  return parseOrThrow(memberSchema.pick({ programId: true, leadId: true }), row, 'program member');
}

export function campaignMemberRecord(row: ProgramMemberInput | Record<string, unknown>, context: CampaignMemberContext): CrmRecord {
  const m = parseOrThrow(memberSchema, row, 'program member');
  return {
    marketo_key: campaignMemberKey(m.programId, m.leadId),
    campaign_id: context.campaignId,
    marketo_program_id: m.programId,
    marketo_lead_id: m.leadId,
    ...personColumns(context.person),
    status: bounded('progressionStatus', m.progressionStatus, 255),
    is_success: m.reachedSuccess ?? false,
    success_date: m.reachedSuccessDate ?? null,
    membership_date: m.membershipDate ?? null,
    acquired_by: m.acquiredBy ?? false,
  };
}
