import { ActivityLog } from '../../emulator/model/activity-log.js';

describe('activity log ordering', () => {
  const dates = (log: ActivityLog): number[] => [...log.between(0, 1e9)].map((a) => a.date);

  it('reads in (date, id) order whatever the append order, and pages by token position', () => {
    const log = new ActivityLog();
    for (const d of [10, 20, 30]) log.append({ leadId: 1, date: d, typeId: 12 });
    log.append({ leadId: 2, date: 15, typeId: 13 }); // clock moved back
    expect(dates(log)).toEqual([10, 15, 20, 30]);
    log.append({ leadId: 3, date: 40, typeId: 12 });
    log.append({ leadId: 3, date: 40, typeId: 13 });
    log.append({ leadId: 4, date: 5, typeId: 12 });
    expect(dates(log)).toEqual([5, 10, 15, 20, 30, 40, 40]);
    const first = log.scan({ ms: 0, id: 0 }, {}, 3);
    expect(first.items.map((a) => a.date)).toEqual([5, 10, 15]);
    expect(first.more).toBe(true);
    const rest = log.scan(first.last ?? { ms: 0, id: 0 }, { typeIds: new Set([13]) }, 10);
    expect(rest.items.map((a) => [a.date, a.activityTypeId])).toEqual([[40, 13]]);
    expect(rest.more).toBe(false);
  });

  it('a scan limit yields a short page that still advances', () => {
    const log = new ActivityLog();
    for (let i = 0; i < 50; i++) log.append({ leadId: i, date: 100 + i, typeId: i === 49 ? 13 : 12 });
    const page = log.scan({ ms: 0, id: 0 }, { typeIds: new Set([13]) }, 10, 20);
    expect(page.items).toEqual([]);
    expect(page.more).toBe(true);
    expect(page.last).toEqual({ ms: 119_000, id: 20 });
    const next = log.scan(page.last ?? { ms: 0, id: 0 }, { typeIds: new Set([13]) }, 10, 100);
    expect(next.items.map((a) => a.leadId)).toEqual([49]);
  });
});
