import { randomBytes } from 'node:crypto';
import { base32Decode, base32Encode } from '../http/base32.js';
import { MarketoError } from '../http/envelope.js';
import type { Params } from '../http/params.js';
import type { Subscription } from '../subscription.js';

/**
 * Position-based paging (lead/list/object queries): the token is base32 of 16 random bytes naming
 * a server-side cursor that holds the next offset, as Marketo's opaque tokens do.
 */
const cursors = new WeakMap<Subscription, Map<string, number>>();
const MAX_CURSORS = 50_000;

export function newPageToken(sub: Subscription, offset: number): string {
  let map = cursors.get(sub);
  if (!map) cursors.set(sub, (map = new Map()));
  if (map.size >= MAX_CURSORS) map.delete(map.keys().next().value as string);
  const token = base32Encode(randomBytes(16));
  map.set(token, offset);
  return token;
}

export function pageOffset(sub: Subscription, params: Params): number {
  const token = params.string('nextPageToken');
  return tokenOffset(sub, token);
}

export function tokenOffset(sub: Subscription, token: string | undefined): number {
  if (token === undefined) return 0;
  const offset = cursors.get(sub)?.get(token);
  if (offset === undefined) throw new MarketoError('1003', 'Invalid next page token');
  return offset;
}

export function batchSize(params: Params, max: number): number {
  const n = params.int('batchSize');
  if (n === undefined) return max;
  if (n < 1 || n > max) throw new MarketoError('1003', `Invalid batchSize '${n}', must be between 1 and ${max}`);
  return n;
}

/** Slices one page; adds nextPageToken/moreResult when more follows. */
export function page<T>(sub: Subscription, all: T[], offset: number, size: number): { items: T[]; nextPageToken?: string; moreResult?: boolean } {
  const items = all.slice(offset, offset + size);
  if (offset + size < all.length) return { items, nextPageToken: newPageToken(sub, offset + size), moreResult: true };
  return { items };
}

/**
 * Activity paging tokens use Marketo's legacy scheme: base32 of
 * `yyyy-MM-ddTHH:mm:ss.SSS+0000,{lastActivityId}` (marketo-api.md §9.3).
 */
export function activityToken(ms: number, lastId: number): string {
  const iso = new Date(ms).toISOString().replace('Z', '+0000');
  return base32Encode(Buffer.from(`${iso},${lastId}`, 'utf8'));
}

export function parseActivityToken(token: string): { ms: number; id: number } {
  const text = base32Decode(token.trim())?.toString('utf8');
  const m = text ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?)\+0000,(\d+)$/.exec(text) : null;
  if (!m) throw new MarketoError('1003', 'Invalid next page token');
  return { ms: Date.parse(`${m[1]}Z`), id: Number(m[2]) };
}
