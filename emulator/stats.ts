import { centralDay } from './limits.js';

/**
 * Call accounting: per-endpoint counters for tests and benchmarks (admin `/_emulator/calls`),
 * and per-day totals by user and by error code for `/rest/v1/stats/*.json`.
 */
export interface EndpointCount {
  calls: number;
  /** Calls that counted against rate limit and quota. */
  counted: number;
  errors: Record<string, number>;
}

interface DayStats {
  total: number;
  users: Map<string, number>;
  errors: Map<string, number>;
}

export class CallStats {
  private endpoints = new Map<string, EndpointCount>();
  private days = new Map<string, DayStats>();
  private total = 0;

  record(endpoint: string, code: string | undefined, counted: boolean, user: string, nowMs: number): void {
    this.total += 1;
    let e = this.endpoints.get(endpoint);
    if (!e) {
      e = { calls: 0, counted: 0, errors: {} };
      this.endpoints.set(endpoint, e);
    }
    e.calls += 1;
    if (counted) e.counted += 1;
    if (code) e.errors[code] = (e.errors[code] ?? 0) + 1;
    const day = centralDay(nowMs);
    let d = this.days.get(day);
    if (!d) {
      d = { total: 0, users: new Map(), errors: new Map() };
      this.days.set(day, d);
    }
    if (counted) {
      d.total += 1;
      d.users.set(user, (d.users.get(user) ?? 0) + 1);
    }
    if (code) d.errors.set(code, (d.errors.get(code) ?? 0) + 1);
  }

  /** The per-day totals behind `/rest/v1/stats/*` (the state file keeps them; endpoint counters are per process). */
  daysState(): [day: string, stats: { total: number; users: [string, number][]; errors: [string, number][] }][] {
    return [...this.days].map(([day, d]) => [day, { total: d.total, users: [...d.users], errors: [...d.errors] }]);
  }

  loadDaysState(state: [string, { total: number; users: [string, number][]; errors: [string, number][] }][]): void {
    this.days = new Map(state.map(([day, d]) => [day, { total: d.total, users: new Map(d.users), errors: new Map(d.errors) }]));
  }

  reset(): void {
    this.endpoints = new Map();
    this.total = 0;
  }

  snapshot(): { total: number; endpoints: Record<string, EndpointCount> } {
    return { total: this.total, endpoints: Object.fromEntries([...this.endpoints].map(([k, v]) => [k, { ...v, errors: { ...v.errors } }])) };
  }

  /** Usage rows for the given Central-time days, oldest first. */
  usage(days: string[]): { date: string; total: number; users: { userId: string; count: number }[] }[] {
    return days.map((date) => {
      const d = this.days.get(date);
      return { date, total: d?.total ?? 0, users: [...(d?.users ?? new Map<string, number>())].map(([userId, count]) => ({ userId, count })) };
    });
  }

  errors(days: string[]): { date: string; total: number; errors: { errorCode: string; count: number }[] }[] {
    return days.map((date) => {
      const d = this.days.get(date);
      const errs = [...(d?.errors ?? new Map<string, number>())];
      return { date, total: errs.reduce((s, [, n]) => s + n, 0), errors: errs.map(([errorCode, count]) => ({ errorCode, count })) };
    });
  }
}
