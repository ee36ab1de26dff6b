import { jest } from '@jest/globals';
import { GroupCommit } from '../../activities/on-demand-group-commit.js';

/** A batch function whose calls finish only when the test says so. */
function controllable() {
  const calls: { items: number[]; finish(fail?: Error): void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => `r${i}`))) });
    });
  return { calls, run };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 1));
}

test('items that arrive while batches run gather into the next batch; each caller gets its own result', async () => {
  const { calls, run } = controllable();
  const group = new GroupCommit(run, { windowMs: 1, maxInFlight: 1, maxBatch: 3 });
  const first = group.submit(1);
  await until(() => calls.length === 1);
  const later = [2, 3, 4, 5].map((i) => group.submit(i));
  expect(calls).toHaveLength(1); // the slot is taken: nothing else runs yet
  calls[0]!.finish();
  expect(await first).toBe('r1');
  await until(() => calls.length === 2);
  expect(calls[1]!.items).toEqual([2, 3, 4]); // capped at maxBatch
  calls[1]!.finish();
  await until(() => calls.length === 3);
  expect(calls[2]!.items).toEqual([5]);
  calls[2]!.finish();
  expect(await Promise.all(later)).toEqual(['r2', 'r3', 'r4', 'r5']);
});

test('a failed batch rejects its callers only; the queue carries on', async () => {
  const { calls, run } = controllable();
  const group = new GroupCommit(run, { windowMs: 1, maxInFlight: 1 });
  const failing = [group.submit(1), group.submit(2)];
  await until(() => calls.length === 1);
  const next = group.submit(3);
  calls[0]!.finish(new Error('CRM down'));
  await expect(failing[0]).rejects.toThrow('CRM down');
  await expect(failing[1]).rejects.toThrow('CRM down');
  await until(() => calls.length === 2);
  calls[1]!.finish();
  expect(await next).toBe('r3');
});

test('a batch function returning the wrong number of results fails its callers loudly', async () => {
  const group = new GroupCommit(async () => ['only one'], { windowMs: 1 });
  const both = [group.submit(1), group.submit(2)];
  await expect(both[0]).rejects.toThrow('group commit: 1 results for 2 items');
  await expect(both[1]).rejects.toThrow('group commit: 1 results for 2 items');
});

test('minIntervalMs paces batch starts: items arriving meanwhile wait and go out together', async () => {
  jest.useFakeTimers({ now: 0 });
  try {
    const { calls, run } = controllable();
    const group = new GroupCommit(run, { windowMs: 5, maxInFlight: 2, minIntervalMs: 1_000 });
    const first = group.submit(1);
    await jest.advanceTimersByTimeAsync(5);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.finish();
    expect(await first).toBe('r1');
    // A free slot, but the last batch started only 5 ms ago: these wait for the interval.
    const later = [2, 3, 4].map((i) => group.submit(i));
    await jest.advanceTimersByTimeAsync(900);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    expect(await Promise.all(later)).toEqual(['r2', 'r3', 'r4']);
  } finally {
    jest.useRealTimers();
  }
});
