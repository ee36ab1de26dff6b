import { z } from 'zod';
import type { CrmRecord } from '../crm/connector.js';
import type { Activity } from '../marketo/activities.js';
import type { ActivityRow } from '../marketo/bulk/rows.js';
import { instantCell, intCell, MarketingRecordError, personColumns, type PersonLink } from './cells.js';

/**
 * One Marketo activity → one CRM `activity` record (table marketing_activities, key `marketo_guid`).
 *
 * Two shapes arrive: the REST shape of `GET /rest/v1/activities.json` (as the client parses it:
 * `activityDate` a Date, `attributes` a `[{name, value}]` list) and the bulk activity export row
 * (`ActivityRow`: every column text-derived, `attributes` already an object keyed by name). Both
 * produce the same record, so a record written by the bootstrap's bulk load and the same activity
 * read later by the sync loop's REST pull compare equal and the upsert changes nothing.
 */

/** The CRM person the activity's lead is linked to (from the id map, entity 'lead'). */
export type ActivityPerson = PersonLink;

export interface ActivityRecordContext {
  /** Activity type name from `GET /rest/v1/activities/types.json` (null/absent: unknown type). */
  typeName?: string | null | undefined;
  /** The CRM lead or contact of `leadId`; absent when the CRM holds no such person (yet). */
  person?: ActivityPerson | undefined;
}

/** An activity the builder refused; `field` names the Marketo field (or CRM column) at fault. */
export class ActivityRecordError extends MarketingRecordError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'ActivityRecordError';
  }
}

/** Longest values the marketing_activities columns take (varchar lengths of migration 3). */
const LIMITS = { marketo_guid: 64, activity_type: 255, primary_attribute_value_id: 255 } as const;

const attributesInput = z.union([
  z.array(z.looseObject({ name: z.string(), value: z.unknown() })).transform((list) => Object.fromEntries(list.map((a) => [a.name, a.value] as const))),
  z.record(z.string(), z.unknown()),
]);

/** The fields every activity record needs; `leadId`/`activityTypeId` may be text (bulk) or numbers (REST). */
const activityInputSchema = z.looseObject({
  marketoGUID: z.union([z.string().min(1), z.number().int().transform(String)]),
  leadId: intCell.pipe(z.number().int().positive()),
  activityDate: instantCell,
  activityTypeId: intCell.pipe(z.number().int().positive()),
  campaignId: intCell.nullable().optional(),
  primaryAttributeValueId: z.union([intCell, z.string()]).nullable().optional(),
  primaryAttributeValue: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  attributes: attributesInput.nullable().optional(),
});

export type MarketoActivityInput = Activity | ActivityRow;

/** Stable JSON of the attributes: keys sorted, so the same activity always yields the same text. */
export function attributesJson(attributes: Record<string, unknown>): string | null {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return null;
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, attributes[k]] as const)));
}

function bounded(field: keyof typeof LIMITS, value: string): string {
  if (value.length > LIMITS[field]) throw new ActivityRecordError(field, `${field} is ${value.length} characters, the CRM takes at most ${LIMITS[field]}`);
  return value;
}

/**
 * Builds the CRM record. Throws `ActivityRecordError` naming the field when a required value is
 * missing or malformed (a bulk export that left out a column, a date Marketo never writes), so the
 * caller can put that one activity in the error ledger instead of writing a wrong row.
 */
export function activityRecord(activity: MarketoActivityInput, context: ActivityRecordContext = {}): CrmRecord {
  const parsed = activityInputSchema.safeParse(activity);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(activity)';
    throw new ActivityRecordError(field, `activity ${describeGuid(activity)}: ${field}: ${issue.message}`);
  }
  const a = parsed.data;
  const primaryId = a.primaryAttributeValueId;
  const typeName = context.typeName ?? null;
  return {
    marketo_guid: bounded('marketo_guid', a.marketoGUID),
    activity_type_id: a.activityTypeId,
    activity_type: typeName === null ? null : bounded('activity_type', typeName),
    activity_date: a.activityDate,
    marketo_lead_id: a.leadId,
    ...personColumns(context.person),
    marketo_campaign_id: a.campaignId ?? null,
    primary_attribute_value_id: primaryId === null || primaryId === undefined ? null : bounded('primary_attribute_value_id', String(primaryId)),
    primary_attribute_value: a.primaryAttributeValue === null || a.primaryAttributeValue === undefined ? null : String(a.primaryAttributeValue),
    attributes: attributesJson(a.attributes ?? {}),
  };
}

function describeGuid(activity: MarketoActivityInput): string {
  const guid = (activity as { marketoGUID?: unknown }).marketoGUID;
  return typeof guid === 'string' || typeof guid === 'number' ? String(guid) : '(no marketoGUID)';
}

/** The Marketo lead id of an activity of either shape, for id-map lookups before building records. */
export function activityLeadId(activity: MarketoActivityInput): number | undefined {
  const parsed = intCell.safeParse((activity as { leadId?: unknown }).leadId);
  return parsed.success ? parsed.data : undefined;
}
