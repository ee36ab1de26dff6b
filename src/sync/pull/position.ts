import { z } from 'zod';
import type { Page } from '../../marketo/index.js';
import type { StateStore } from '../../store/state-store.js';

/** Step 4's stream: lead changes and merges since the bootstrap's high watermark (the bootstrap writes it). */
export const LEADS_STREAM = 'marketo:leads';
/** Step 5's stream of Delete Lead activities (Get Deleted Leads). */
export const DELETES_STREAM = 'marketo:deleted-leads';
/** Merges and deletes read but not yet applied to the CRM (steps 5 and 7 apply them). */
export const PENDING_STREAM = 'marketo:pull:pending';

export function activityQueueStream(queue: string): string {
  return `marketo:activities:${queue}`;
}

/**
 * Where a Marketo activity stream stands. `at` is the second of the newest activity handled
 * (Marketo keeps datetimes per second); `ids` are the activities of that second already handled,
 * so a read that starts again at `at` drops them; `token` is the paging token Marketo returned
 * after the last page, which resumes without re-reading anything (absent after the bootstrap).
 */
export interface StreamPosition {
  at: Date;
  ids: string[];
  token?: string;
  /**
   * Activity queues only: the lead stream's token up to which this queue is known to hold nothing
   * unread. Step 4 reads the queues' types along with its own (one call instead of one per
   * queue) and moves this mark when none of them appeared; step 6 then skips the queue.
   */
  coveredBy?: string;
}

const Cursor = z.strictObject({ v: z.literal(1), ids: z.array(z.string().min(1)), token: z.string().min(1).optional(), coveredBy: z.string().min(1).optional() });

/**
 * `readAt`: from when on the stream is unread. A position the pull stored was read up to when it
 * was stored (it is stored every run, even an empty one); one the bootstrap (or a seeding) left
 * has read nothing after its watermark. Against Marketo's activity retention it is `readAt` that
 * counts, not the date of the last activity (a quiet stream is not a stale one).
 */
export async function loadPosition(store: Pick<StateStore, 'watermarks'>, stream: string, fallbackStreams: readonly string[] = []): Promise<StreamPosition & { stream: string; readAt: Date }> {
  for (const name of [stream, ...fallbackStreams]) {
    const row = await store.watermarks.get(name);
    if (!row?.watermark) continue;
    if (name !== stream || row.cursor === null) return { stream: name, at: row.watermark, ids: [], readAt: row.watermark };
    const parsed = Cursor.safeParse(safeJson(row.cursor));
    if (!parsed.success) throw new Error(`watermark ${stream} holds a cursor the pull cannot read: ${z.prettifyError(parsed.error)}`);
    const { ids, token, coveredBy } = parsed.data;
    return { stream: name, at: row.watermark, ids, ...(token ? { token } : {}), ...(coveredBy ? { coveredBy } : {}), readAt: row.updatedAt };
  }
  throw new Error(`no watermark for ${stream}${fallbackStreams.length ? ` (nor ${fallbackStreams.join(', ')})` : ''}: run the bootstrap or record a start date first`);
}

export async function savePosition(store: Pick<StateStore, 'watermarks'>, stream: string, position: StreamPosition): Promise<void> {
  const cursor = JSON.stringify({ v: 1, ids: position.ids, ...(position.token ? { token: position.token } : {}), ...(position.coveredBy ? { coveredBy: position.coveredBy } : {}) });
  await store.watermarks.set(stream, { watermark: position.at, cursor });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export interface StreamItem {
  marketoGUID: string;
  activityDate: Date;
}

export interface StreamWindow<T> {
  /** Activities after the position, boundary duplicates dropped, in Marketo's order. */
  items: T[];
  position: StreamPosition;
  hasMore: boolean;
  calls: number;
}

/**
 * Reads a token-paged activity stream from a position until Marketo has no more or `max` items
 * were read (whole pages). Without a stored token it asks for one at the position's second; the
 * activities of that second handled before come back and are dropped by id.
 */
export async function readStream<T extends StreamItem>(
  start: StreamPosition,
  pagingToken: (since: Date) => Promise<string>,
  fetch: (token: string) => Promise<Page<T>>,
  max: number,
): Promise<StreamWindow<T>> {
  let calls = 0;
  let token = start.token;
  if (token === undefined) {
    token = await pagingToken(start.at);
    calls++;
  }
  const handled = new Set(start.ids);
  let at = secondOf(start.at);
  let ids = new Set(start.ids);
  const items: T[] = [];
  let hasMore = false;
  for (;;) {
    const page = await fetch(token);
    calls++;
    if (page.moreResult && page.items.length === 0 && page.nextPageToken === token) {
      throw new Error(`Marketo returned the same nextPageToken with no data (requestId ${page.requestId}); refusing to loop`);
    }
    for (const item of page.items) {
      if (handled.has(item.marketoGUID)) continue;
      items.push(item);
      const second = secondOf(item.activityDate);
      if (second.getTime() > at.getTime()) {
        at = second;
        ids = new Set();
      }
      if (second.getTime() === at.getTime()) ids.add(item.marketoGUID);
    }
    if (page.nextPageToken !== undefined) token = page.nextPageToken;
    if (!page.moreResult) break;
    if (items.length >= max) {
      hasMore = true;
      break;
    }
  }
  return { items, position: { at, ids: [...ids], token }, hasMore, calls };
}

export function secondOf(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
