import type { Envelope, MarketoWarning } from './envelope.js';

/** One page of a token-paged endpoint. `nextPageToken` is what a caller persists to resume later. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
  /** True when Marketo says there is more after this page. */
  moreResult: boolean;
  requestId: string;
  warnings: MarketoWarning[];
}

/**
 * Lead DB endpoints signal "more" two ways: activities always send a token and say `moreResult`; filter
 * and list queries send a token only when there is more and often omit `moreResult`.
 */
export function toPage<T>(envelope: Envelope<T>): Page<T> {
  const page: Page<T> = {
    items: envelope.result ?? [],
    moreResult: envelope.moreResult ?? envelope.nextPageToken !== undefined,
    requestId: envelope.requestId,
    warnings: envelope.warnings ?? [],
  };
  if (envelope.nextPageToken !== undefined) page.nextPageToken = envelope.nextPageToken;
  return page;
}

/** Follows `nextPageToken` until Marketo says there is no more; yields every page (even empty ones). */
export async function* paginateByToken<T>(
  fetchPage: (nextPageToken: string | undefined) => Promise<Page<T>>,
  firstToken?: string,
): AsyncGenerator<Page<T>> {
  let token = firstToken;
  for (;;) {
    const page = await fetchPage(token);
    yield page;
    if (!page.moreResult || page.nextPageToken === undefined) return;
    if (page.nextPageToken === token && page.items.length === 0) {
      throw new Error(`Marketo returned the same nextPageToken with no data (requestId ${page.requestId}); refusing to loop`);
    }
    token = page.nextPageToken;
  }
}

/** Asset API paging: `offset` + `maxReturn` until a short (or empty) page. */
export async function* paginateByOffset<T>(
  fetchPage: (offset: number, maxReturn: number) => Promise<T[]>,
  maxReturn: number,
  startOffset = 0,
): AsyncGenerator<T[]> {
  let offset = startOffset;
  for (;;) {
    const items = await fetchPage(offset, maxReturn);
    if (items.length > 0) yield items;
    if (items.length < maxReturn) return;
    offset += items.length;
  }
}

/** Drains a paged iterator into one array (for small result sets only). */
export async function collectItems<T>(pages: AsyncIterable<Page<T> | T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...(Array.isArray(page) ? page : page.items));
  return all;
}
