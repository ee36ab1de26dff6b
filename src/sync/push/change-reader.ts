import type { Change, CrmConnector, CrmEntityName, CrmRecord } from '../../crm/connector.js';

export type Tombstone = Extract<Change, { kind: 'delete' }>;

/** One window of a CRM change stream, aggregated per record. */
export interface ChangeWindow {
  /** Current state of each changed record (last write wins), in change order; `id` included. */
  upserts: CrmRecord[];
  deletes: Tombstone[];
  /** Position after the window: store it once everything in the window is written or ledgered. */
  cursor: string;
  /** Time of the newest change in the window (for the watermark's readable time). */
  lastChangedAt: string | undefined;
  hasMore: boolean;
  /** Changes of the wanted kind read, before aggregation. */
  read: number;
  /** Changes of both kinds read (what the run's budget counts). */
  scanned: number;
}

/**
 * Reads the changes of one kind after `cursor` (own writes excluded by the connector, so what
 * the sync wrote from Marketo does not echo back) until `max` changes or the end of the stream.
 * A record changed several times in the window is pushed once with its latest state.
 */
export async function readChangeWindow(
  crm: Pick<CrmConnector, 'readChanges'>,
  entity: CrmEntityName,
  kind: Change['kind'],
  position: { cursor?: string | undefined },
  limits: { pageSize: number; max: number },
): Promise<ChangeWindow> {
  const upserts = new Map<string, CrmRecord>();
  const deletes = new Map<string, Tombstone>();
  let cursor = position.cursor;
  let lastChangedAt: string | undefined;
  let hasMore = true;
  let read = 0;
  let scanned = 0;
  while (hasMore && scanned < limits.max) {
    const page = await crm.readChanges(entity, { ...(cursor !== undefined ? { cursor } : {}), limit: Math.min(limits.pageSize, limits.max - scanned) });
    for (const change of page.changes) {
      scanned++;
      if (change.kind !== kind) continue;
      read++;
      lastChangedAt = change.changedAt;
      if (change.kind === 'upsert') {
        // Delete then re-insert keeps the map's order of first sight; move it to the end instead.
        upserts.delete(change.id);
        upserts.set(change.id, { ...change.record, id: change.id });
      } else {
        deletes.delete(change.id);
        deletes.set(change.id, change);
      }
    }
    cursor = page.cursor;
    hasMore = page.hasMore;
  }
  if (cursor === undefined) throw new Error('readChanges returned no cursor');
  return { upserts: [...upserts.values()], deletes: [...deletes.values()], cursor, lastChangedAt, hasMore, read, scanned };
}
