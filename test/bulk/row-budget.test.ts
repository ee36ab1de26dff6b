import { defaultRowBudget, RowBudget } from '../../src/marketo/bulk/row-budget.js';

test('takes within the budget at once, then serves waiters in arrival order as rows come back', async () => {
  const budget = new RowBudget(10);
  const a = budget.lease();
  const b = budget.lease();
  const c = budget.lease();
  expect(await a.take(6)).toBe(6);
  const order: string[] = [];
  const bTakes = b.take(6).then(() => order.push('b'));
  // c would fit (4 ≤ 10 − 6) but b asked first: no overtaking.
  const cTakes = c.take(4).then(() => order.push('c'));
  await Promise.resolve();
  expect(order).toEqual([]);
  a.give(6);
  await Promise.all([bTakes, cTakes]);
  expect(order).toEqual(['b', 'c']);
  expect(budget.inUse).toBe(10);
});

test('a batch larger than the budget takes the whole budget instead of waiting for ever', async () => {
  const budget = new RowBudget(5);
  const lease = budget.lease();
  expect(await lease.take(8)).toBe(5);
  expect(budget.inUse).toBe(5);
});

test('closing a lease gives back what it holds and refuses its waits, other leases go on', async () => {
  const budget = new RowBudget(10);
  const holder = budget.lease();
  const waiter = budget.lease();
  const other = budget.lease();
  await holder.take(10);
  const refused = waiter.take(5);
  const served = other.take(5);
  waiter.close();
  await expect(refused).rejects.toThrow(/closed/);
  holder.close();
  await served;
  expect(budget.inUse).toBe(5);
  // A write finishing after its download's lease closed gives nothing back twice.
  holder.give(10);
  expect(budget.inUse).toBe(5);
  await expect(holder.take(1)).rejects.toThrow(/closed/);
});

test('the default budget is a quarter of the heap limit at 4 KB a row', () => {
  expect(defaultRowBudget(256 * 1048576)).toBe(16_384);
  expect(defaultRowBudget(1048576)).toBe(1000);
  expect(() => new RowBudget(0)).toThrow(/positive/);
});
