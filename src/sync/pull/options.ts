import { z } from 'zod';

/** One queue of step 6: activity types carried into the CRM `activity` entity, with its own watermark. */
export const ActivityQueue = z.strictObject({
  /** Names the queue's watermark stream (`marketo:activities:<name>`). */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'queue names are lower-case letters, digits and dashes'),
  /** Marketo takes at most 10 activity types per call. */
  typeIds: z.array(z.number().int().positive()).min(1).max(10),
});
export type ActivityQueue = z.infer<typeof ActivityQueue>;

/**
 * Tuning and policies of the Marketo → CRM pull. Defaults and the REST/bulk threshold are
 * explained with the call arithmetic in docs/sync-pull.md.
 */
export const PullOptions = z.strictObject({
  /** Leads per Get Leads call and companies per Get Companies call (Marketo's maximum is 300). */
  batchSize: z.number().int().min(1).max(300).default(300),
  /** Activities one step run reads before it returns `hasMore` (whole pages of 300). */
  maxActivitiesPerRun: z.number().int().min(1).default(30_000),
  /** From this many changed leads in one run on, leads are read by a Bulk Lead Extract on updatedAt instead of by id. */
  bulkThreshold: z.number().int().min(1).default(3_000),
  /** Bulk extract status polling (Marketo refreshes the status at most once a minute). */
  bulkPollIntervalMs: z.number().int().min(1).default(60_000),
  /** Who wins a field both sides changed since the last cycle. */
  conflictRule: z.enum(['crm', 'marketo']).default('crm'),
  /** What a lead deleted in Marketo does to its CRM record. */
  deletePolicy: z.enum(['honour', 'flag']).default('honour'),
  /**
   * Activity sources the sync's own Marketo writes carry. A change from one of them on a lead the
   * id map already links is the push's echo and is not pulled back.
   */
  echoSources: z.array(z.string().min(1)).default(['Web service API']),
  /** Step 6 queues; none by default (the admin selects the types worth carrying). */
  activityQueues: z.array(ActivityQueue).default([]),
  /**
   * Hours between scans of every company the CRM holds (Get Companies by externalCompanyId, 300 a
   * call) for companies changed in Marketo without a change on any lead. 0 switches it off.
   */
  companyScanHours: z.number().min(0).default(24),
  /** Days Marketo keeps Delete Lead (37) and Change Data Value (13) activities. */
  retention: z.strictObject({ deleteDays: z.number().positive().default(14), changeDays: z.number().positive().default(90) }).default({ deleteDays: 14, changeDays: 90 }),
});
export type PullOptions = z.output<typeof PullOptions>;
export type PullOptionsInput = z.input<typeof PullOptions>;

export function parsePullOptions(input: unknown): PullOptions {
  const parsed = PullOptions.safeParse(input ?? {});
  if (!parsed.success) throw new Error(`invalid pull options: ${z.prettifyError(parsed.error)}`);
  const names = parsed.data.activityQueues.map((q) => q.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`invalid pull options: activityQueues: queue '${twice}' appears twice`);
  return parsed.data;
}
