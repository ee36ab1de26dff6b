import { z } from 'zod';

/**
 * Tuning of the CRM → Marketo push. Defaults and the REST/bulk threshold are explained with the
 * call arithmetic in docs/sync-push.md.
 */
export const PushOptions = z
  .strictObject({
    /** Records per REST create/update or delete call; Marketo takes at most 300. */
    batchSize: z.number().int().min(1).max(300).default(300),
    /** Changes read from the CRM per readChanges call. */
    pageSize: z.number().int().min(1).max(10_000).default(2_000),
    /** Changes one activity run handles before it returns `hasMore` (keeps a run short and its heartbeat-free retry cheap). */
    maxRecordsPerRun: z.number().int().min(1).default(20_000),
    /** From this many persons in one run on, leads go through Bulk Lead Import instead of REST. */
    bulkThreshold: z.number().int().min(1).default(10_000),
    /**
     * From this many persons with a known Marketo lead id in one run on, they are updated through
     * Bulk Lead Import by `id` (update only) instead of REST `updateOnly` by id, 300 a call.
     */
    bulkUpdateThreshold: z.number().int().min(1).default(5_000),
    /** Bulk import status polling; Marketo asks for 5–30 s. */
    bulkPollIntervalMs: z.number().int().min(1).default(10_000),
    /** Bulk import file size cap (below Marketo's 10 MB). */
    bulkMaxFileBytes: z.number().int().min(1024).max(10 * 1024 * 1024).optional(),
  });
export type PushOptions = z.output<typeof PushOptions>;
export type PushOptionsInput = z.input<typeof PushOptions>;

export function parsePushOptions(input: unknown): PushOptions {
  const parsed = PushOptions.safeParse(input ?? {});
  if (!parsed.success) throw new Error(`invalid push options: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
