import type { Clock } from './clock.js';

/**
 * The subscription's API limits: a sliding window of call timestamps (606), in-flight calls
 * (615) and a daily counter that resets at midnight America/Chicago (607). Calls are admitted
 * first and given back when they end with a code Marketo does not count (marketo-api.md §4.1).
 */
export interface LimitConfig {
  rateLimitCalls: number;
  rateWindowMs: number;
  maxConcurrent: number;
  dailyQuota: number;
}

/** Codes whose calls Marketo does not count against rate limit or quota. */
export const UNCOUNTED_CODES = new Set(['601', '602', '604', '605', '608', '611']);

const chicagoDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar day in America/Chicago (`YYYY-MM-DD`): the quota's day, DST included. */
export function centralDay(epochMs: number): string {
  return chicagoDate.format(new Date(epochMs));
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; code: '606' | '607' | '615'; message: string };

export interface Ticket {
  at: number;
  day: string;
  released: boolean;
}

export class Limiter {
  /** Admission times, oldest first; entries before `head` have left the window. */
  private window: number[] = [];
  private head = 0;
  private inFlight = 0;
  private quotaDay = '';
  private quotaUsed = 0;

  constructor(
    private readonly clock: Clock,
    readonly config: LimitConfig,
  ) {}

  admit(): Admission {
    const now = this.clock.now();
    const day = centralDay(now);
    if (day !== this.quotaDay) {
      this.quotaDay = day;
      this.quotaUsed = 0;
    }
    if (this.quotaUsed >= this.config.dailyQuota) return { ok: false, code: '607', message: 'Daily quota reached' };
    const cutoff = now - this.config.rateWindowMs;
    while (this.head < this.window.length && (this.window[this.head] as number) <= cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    if (this.window.length - this.head >= this.config.rateLimitCalls) {
      return { ok: false, code: '606', message: `Max rate limit '${this.config.rateLimitCalls}' exceeded with in '${this.config.rateWindowMs / 1000}' secs` };
    }
    if (this.inFlight >= this.config.maxConcurrent) return { ok: false, code: '615', message: `Concurrent access limit '${this.config.maxConcurrent}' reached` };
    this.window.push(now);
    this.quotaUsed += 1;
    this.inFlight += 1;
    return { ok: true, ticket: { at: now, day, released: false } };
  }

  /** Ends an admitted call; `counted: false` gives its rate-window slot and quota unit back. */
  release(ticket: Ticket, counted: boolean): void {
    if (ticket.released) return;
    ticket.released = true;
    this.inFlight -= 1;
    if (!counted) {
      const i = this.window.lastIndexOf(ticket.at);
      if (i >= this.head) this.window.splice(i, 1);
      if (ticket.day === this.quotaDay) this.quotaUsed -= 1;
    }
  }

  /** The day's quota counter (the state file keeps it; the rate window is too short-lived to matter). */
  quotaState(): { day: string; used: number } {
    return { day: this.quotaDay, used: this.quotaUsed };
  }

  loadQuotaState(state: { day: string; used: number }): void {
    this.quotaDay = state.day;
    this.quotaUsed = state.used;
  }

  snapshot(): { inFlight: number; windowCalls: number; quotaDay: string; quotaUsed: number } {
    return { inFlight: this.inFlight, windowCalls: this.window.length - this.head, quotaDay: this.quotaDay, quotaUsed: this.quotaUsed };
  }
}
