import type { BootstrapProgress, PhaseProgress } from '../../workflows/bootstrap-types.js';

// The bootstrap's progress as an operator reads it, shared by `bootstrap status`, the live bars of
// `marketo-sync bootstrap` and the demo's bars. No cli-progress here: `--help` does not load it.

export function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Exports Marketo forgot while their window waited and that were created again: each one costs
 * export quota and time, so the operator sees it; nothing when none expired.
 */
export function expiredNote(phase: Pick<PhaseProgress, 'expiredExports'>): string {
  const n = phase.expiredExports ?? 0;
  return n > 0 ? `${n} expired export${n === 1 ? '' : 's'} recreated` : '';
}

/** One progress bar's tokens (BAR_FORMAT names them). */
export function barPayload(name: string, phase: PhaseProgress, p: Pick<BootstrapProgress, 'quotaWait'>): Record<string, string | number> {
  const expired = expiredNote(phase);
  return {
    phase: name.padEnd(16),
    records: phase.records,
    bytes: formatBytes(phase.bytes),
    calls: phase.apiCalls,
    state: p.quotaWait ? `quota paused until ${p.quotaWait.resetAt}` : phase.state,
    expired: expired ? ` | ${expired}` : '',
  };
}

export const BAR_FORMAT = '{phase} |{bar}| {value}/{total} windows | {records} records | {bytes} | {calls} calls | {state}{expired}';
