import type { CrmValue } from '../../crm/connector.js';
import type { Activity } from '../../marketo/index.js';
import { sameValue } from '../../reconcile/compare.js';
import type { PullContext } from './context.js';
import type { PendingMerge } from './pending.js';

export const NEW_LEAD = 12;
export const CHANGE_DATA_VALUE = 13;
export const MERGE_LEADS = 32;
export const DELETE_LEAD = 37;

/** One field's changes on one lead in the window, from Change Data Value activities. */
interface FieldHistory {
  /** New value of the last change made by someone else than the sync, and of the last echo. */
  lastOther?: unknown;
  lastEcho?: unknown;
  /** Which side changed it last in the window. */
  lastBy: 'other' | 'echo';
  other: boolean;
  echo: boolean;
  /** Value before the window's first change: what both systems agreed on at the last cycle. */
  baseline: unknown;
}

/** A field both sides changed since the last cycle. */
export interface Conflict {
  leadId: number;
  field: string;
  /** The value the sync wrote (the CRM's) and the one a Marketo user or system wrote. */
  crmValue: unknown;
  marketoValue: unknown;
  /** Which side wrote last in Marketo: the winner's value must be written back when it was not the winner. */
  lastBy: 'crm' | 'marketo';
  /**
   * The push sent the CRM's unchanged value (it sends whole records) over a Marketo change: only
   * Marketo changed the field, so Marketo's value stands whatever the conflict rule says.
   */
  marketoOnly: boolean;
}

export interface ChangeSet {
  /** Leads with changes to pull (their current state is read from Marketo). */
  leadIds: number[];
  merges: PendingMerge[];
  conflicts: Conflict[];
  /** Changes left out: the sync's own echoes and fields the mapping does not carry. */
  echoes: number;
  unmapped: number;
}

function attribute(a: Activity, name: string): unknown {
  return a.attributes.find((x) => x.name === name)?.value;
}

/**
 * Sorts a window of New Lead, Change Data Value and Merge Leads activities. A change written
 * through the API (`echoSources`) to a lead the id map already links is the push's own write
 * coming back and is not pulled; a field that also changed by someone else in the same window
 * is a conflict (both sides changed it since the last cycle).
 */
export function classifyChanges(context: PullContext, activities: readonly Activity[], linked: ReadonlySet<number>, echoSources: readonly string[]): ChangeSet {
  const echo = new Set(echoSources);
  const wanted = new Set<number>();
  const merges: PendingMerge[] = [];
  const history = new Map<number, Map<string, FieldHistory>>();
  let echoes = 0;
  let unmapped = 0;
  for (const a of activities) {
    if (a.activityTypeId === MERGE_LEADS) {
      const losers = String(attribute(a, 'Merge IDs') ?? '').split(',').map((s) => s.trim()).filter((s) => /^\d+$/.test(s) && s !== String(a.leadId));
      if (losers.length > 0) merges.push({ winner: String(a.leadId), losers });
      // The winner took values from the losers (Marketo logs those as changes too): read it again.
      wanted.add(a.leadId);
      continue;
    }
    if (a.activityTypeId === NEW_LEAD) {
      const source = attribute(a, 'Source Type');
      if (linked.has(a.leadId) && typeof source === 'string' && echo.has(source)) echoes++;
      else wanted.add(a.leadId);
      continue;
    }
    if (a.activityTypeId !== CHANGE_DATA_VALUE) continue;
    const display = a.primaryAttributeValue ?? '';
    const field = context.fieldByDisplayName.get(display);
    const isCompanyField = field !== undefined && context.companyFields.has(field);
    // A field the describe does not know yet (added since the cache was filled) is read to be safe.
    // Company-type fields count too: the company of every pulled lead is read with it.
    if (field !== undefined && !context.pulledFields.has(field) && !isCompanyField) {
      unmapped++;
      continue;
    }
    const source = attribute(a, 'Source');
    const isEcho = linked.has(a.leadId) && typeof source === 'string' && echo.has(source);
    const name = field ?? display;
    let fields = history.get(a.leadId);
    if (!fields) history.set(a.leadId, (fields = new Map()));
    const h = fields.get(name) ?? { lastBy: isEcho ? 'echo' : 'other', other: false, echo: false, baseline: attribute(a, 'Old Value') };
    const value = attribute(a, 'New Value');
    if (isEcho && h.other && sameValue(value as CrmValue, h.lastOther as CrmValue)) {
      // An API write of the value a Marketo user set: the pull's own write-back of a Marketo win
      // (met again when a step is retried after it) or a push that agreed with Marketo. It is not
      // the CRM's value: counted as one, a retried pull took Marketo's win for a CRM win and left
      // the CRM on the old value while Marketo kept the new one. Marketo holds its user's value.
      h.lastBy = 'other';
      echoes++;
      fields.set(name, h);
      continue;
    }
    if (isEcho) {
      h.echo = true;
      h.lastEcho = value;
      h.lastBy = 'echo';
      echoes++;
    } else {
      h.other = true;
      h.lastOther = value;
      h.lastBy = 'other';
      wanted.add(a.leadId);
    }
    fields.set(name, h);
  }
  const conflicts: Conflict[] = [];
  for (const [leadId, fields] of history) {
    for (const [field, h] of fields) {
      if (!h.echo || !h.other) continue;
      // The CRM's value is what it was at the last cycle: only Marketo changed the field.
      const marketoOnly = sameValue(h.lastEcho as CrmValue, h.baseline as CrmValue);
      conflicts.push({ leadId, field, crmValue: h.lastEcho, marketoValue: h.lastOther, lastBy: h.lastBy === 'echo' ? 'crm' : 'marketo', marketoOnly });
    }
  }
  return { leadIds: [...wanted], merges, conflicts, echoes, unmapped };
}
