import type { MarketoObject, ObjectApi } from '../marketo/index.js';

/** Marketo allows 300 filter values per Get {Object} call (marketo-api.md §7.2). */
export const FILTER_BATCH = 300;

export function chunks<T>(items: Iterable<T>, size = FILTER_BATCH): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    current.push(item);
    if (current.length === size) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Every record of `api` whose `filterType` field is one of `values`, 300 values a call, following pages. */
export async function fetchByValues(api: ObjectApi, filterType: string, values: Iterable<string | number>, fields: readonly string[]): Promise<MarketoObject[]> {
  const out: MarketoObject[] = [];
  const unique = [...new Set(values)];
  for (const batch of chunks(unique)) {
    for await (const page of api.iterate({ filterType, filterValues: batch, fields: [...new Set(fields)] })) out.push(...page.items);
  }
  return out;
}
