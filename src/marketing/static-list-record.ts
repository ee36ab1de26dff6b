import { z } from 'zod';
import type { CrmRecord } from '../crm/connector.js';
import { bounded, instantCell, optionalText, parseOrThrow, personColumns, positiveIdCell, type PersonLink } from './cells.js';

/**
 * Static lists become CRM static lists (key `marketo_list_id`) and their membership list members
 * (key `<listId>:<leadId>`): the seed's list membership is just the pair of ids.
 */

/** A list from `GET /rest/v1/lists.json` (lead database API). */
const listSchema = z.looseObject({
  id: positiveIdCell,
  name: z.string().min(1, 'a list has a name'),
  description: optionalText,
  programName: optionalText,
  workspaceName: optionalText,
  createdAt: instantCell.nullish(),
  updatedAt: instantCell.nullish(),
});

export type StaticListInput = z.input<typeof listSchema>;

export function staticListRecord(list: StaticListInput): CrmRecord {
  const l = parseOrThrow(listSchema, list, `static list ${String((list as { id?: unknown }).id)}`);
  return {
    marketo_list_id: l.id,
    name: bounded('name', l.name, 255),
    description: l.description,
    program_name: bounded('programName', l.programName, 255),
    workspace: bounded('workspaceName', l.workspaceName, 255),
    marketo_created_at: l.createdAt ?? null,
    marketo_updated_at: l.updatedAt ?? null,
  };
}

export function listMemberKey(listId: number, leadId: number): string {
  return `${listId}:${leadId}`;
}

export interface ListMemberContext {
  /** CRM id of the list's static list record, if it was written. */
  staticListId: string | null;
  person?: PersonLink | undefined;
}

export function listMemberRecord(listId: number, leadId: number, context: ListMemberContext): CrmRecord {
  const ids = parseOrThrow(z.object({ listId: positiveIdCell, leadId: positiveIdCell }), { listId, leadId }, 'list member');
  return {
    marketo_key: listMemberKey(ids.listId, ids.leadId),
    static_list_id: context.staticListId,
    marketo_list_id: ids.listId,
    marketo_lead_id: ids.leadId,
    ...personColumns(context.person),
  };
}
