import { z } from 'zod';
import type { StateStore } from '../../store/state-store.js';
import { PENDING_STREAM } from './position.js';

/**
 * Merges and deletes read from Marketo but not yet applied to the CRM. Step 4 finds merges in
 * its activity read and step 5 finds deletes; they are kept here, in the state store, so the
 * stream positions can move as soon as they are recorded, and steps 5 and 7 apply them later
 * (the seed's order) even after a crash in between. Marketo lead ids only, never field values.
 */
const Merge = z.strictObject({ winner: z.string().min(1), losers: z.array(z.string().min(1)).min(1) });
const Pending = z.strictObject({ v: z.literal(1), merges: z.array(Merge), deletes: z.array(z.string().min(1)) });
export type PendingMerge = z.infer<typeof Merge>;
export type PendingWork = z.infer<typeof Pending>;

export async function loadPending(store: Pick<StateStore, 'watermarks'>): Promise<PendingWork> {
  const row = await store.watermarks.get(PENDING_STREAM);
  if (!row?.cursor) return { v: 1, merges: [], deletes: [] };
  const parsed = Pending.safeParse(JSON.parse(row.cursor));
  if (!parsed.success) throw new Error(`${PENDING_STREAM} holds state the pull cannot read: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export async function savePending(store: Pick<StateStore, 'watermarks'>, pending: PendingWork): Promise<void> {
  const deletes = [...new Set(pending.deletes)];
  await store.watermarks.set(PENDING_STREAM, { cursor: JSON.stringify(Pending.parse({ v: 1, merges: pending.merges, deletes })) });
}
