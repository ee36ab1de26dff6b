/** How many recent calls inform the client↔server clock offset. */
const OFFSET_SAMPLES = 64;

/**
 * The latest moment (on our clock) at which Marketo can have counted a call. It is never later than the
 * response, and Marketo's requestId carries the server time T it handled the call: for any call j,
 * arrival_j ≤ response_j, so the server clock is at most min_j(response_j − T_j) behind ours and a call
 * stamped T arrived by T + that minimum. Offsets come from recent calls only; an estimate before the send
 * (the server clock stepped back) resets them and falls back to the response time.
 */
export class ArrivalEstimator {
  private offsets: number[] = [];

  latestArrival(sentAt: number, respondedAt: number, serverTime: number | undefined): number {
    if (serverTime === undefined || !Number.isFinite(serverTime)) return respondedAt;
    this.offsets.push(respondedAt - serverTime);
    if (this.offsets.length > OFFSET_SAMPLES) this.offsets.shift();
    const estimate = serverTime + Math.min(...this.offsets);
    if (estimate < sentAt) {
      this.offsets = [respondedAt - serverTime];
      return respondedAt;
    }
    return Math.min(estimate, respondedAt);
  }
}
