/**
 * The emulator's notion of "now": a base clock (Date.now or the `now` option) plus an offset
 * that tests move with the admin clock endpoints, so token expiry, rate windows and the daily
 * quota reset can be reached without waiting.
 */
export class Clock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(epochMs: number): void {
    this.offsetMs = epochMs - this.base();
  }
}
