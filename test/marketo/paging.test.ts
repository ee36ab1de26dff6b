import { collectItems, paginateByOffset, paginateByToken, toPage, type Page } from '../../src/marketo/paging.js';

const page = (items: number[], nextPageToken?: string, moreResult?: boolean): Page<number> =>
  toPage({ requestId: 'r#1', success: true, result: items, ...(nextPageToken ? { nextPageToken } : {}), ...(moreResult === undefined ? {} : { moreResult }) });

describe('paging', () => {
  it('reads "more" from moreResult, else from the presence of a token', () => {
    expect(page([1], 'T', false).moreResult).toBe(false); // activities: token always present
    expect(page([1], 'T').moreResult).toBe(true); // filter queries: token only when more
    expect(page([1]).moreResult).toBe(false);
    expect(toPage({ requestId: 'r', success: true }).items).toEqual([]);
  });

  it('follows tokens through empty pages until moreResult is false', async () => {
    const script = [page([1, 2], 'A', true), page([], 'B', true), page([3], 'C', false)];
    const seen: (string | undefined)[] = [];
    const items = await collectItems(
      paginateByToken(async (token) => {
        seen.push(token);
        return script.shift()!;
      }, 'START'),
    );
    expect(items).toEqual([1, 2, 3]);
    expect(seen).toEqual(['START', 'A', 'B']);
  });

  it('refuses to loop on a repeated token with no data', async () => {
    await expect(collectItems(paginateByToken(async () => page([], 'SAME', true), 'SAME'))).rejects.toThrow(/same nextPageToken/);
  });

  it('pages by offset until a short page', async () => {
    const data = [1, 2, 3, 4, 5];
    const calls: [number, number][] = [];
    const items = await collectItems(
      paginateByOffset(async (offset, max) => {
        calls.push([offset, max]);
        return data.slice(offset, offset + max);
      }, 2),
    );
    expect(items).toEqual(data);
    expect(calls).toEqual([[0, 2], [2, 2], [4, 2]]);
  });
});
