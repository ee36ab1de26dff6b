import cliProgress from 'cli-progress';
import type { BootstrapProgress } from '../../workflows/bootstrap-types.js';
import { BAR_FORMAT, barPayload, expiredNote, formatBytes } from './bootstrap-progress.js';

// The bootstrap's live progress bars, one per phase, as `marketo-sync bootstrap` and the demo
// both draw them from the workflow's `progress` query: the same tokens in the same places.

export interface BootstrapBarsOptions {
  /** Put in front of every bar (the demo indents its story). */
  indent?: string;
  /** Default stderr. */
  stream?: NodeJS.WritableStream;
  /**
   * Draw bars even when the stream is not a terminal. Unset, a stream that is not a terminal (CI,
   * `docker compose run -T`, a log collector) gets one line per phase whenever the phase moves,
   * instead of nothing until the end: cli-progress draws no bars there.
   */
  noTTYOutput?: boolean;
}

/** A bar per phase, created when the phase first shows up in the progress. */
export class BootstrapBars {
  private readonly bars: cliProgress.MultiBar | undefined;
  private readonly byPhase = new Map<string, cliProgress.SingleBar>();
  private readonly stream: NodeJS.WritableStream;
  private readonly indent: string;
  /** Non-terminal mode: the last line written per phase, so only changes are written. */
  private readonly lastLine = new Map<string, string>();

  constructor(options: BootstrapBarsOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.indent = options.indent ?? '';
    const terminal = (this.stream as { isTTY?: boolean }).isTTY === true;
    if (terminal || options.noTTYOutput) {
      this.bars = new cliProgress.MultiBar(
        { format: `${this.indent}${BAR_FORMAT}`, hideCursor: true, clearOnComplete: false, stream: this.stream, noTTYOutput: options.noTTYOutput },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  show(progress: BootstrapProgress): void {
    if (!this.bars) return this.writeChanges(progress);
    for (const [name, phase] of Object.entries(progress.phases)) {
      const payload = barPayload(name, phase, progress);
      const total = Math.max(phase.windowsTotal, 1);
      let bar = this.byPhase.get(name);
      if (!bar) this.byPhase.set(name, (bar = this.bars.create(total, phase.windowsDone, payload)));
      bar.setTotal(total);
      bar.update(phase.windowsDone, payload);
    }
  }

  /** One line per phase whose windows, state or expired exports changed (records alone do not: too chatty). */
  private writeChanges(progress: BootstrapProgress): void {
    for (const [name, phase] of Object.entries(progress.phases)) {
      const state = progress.quotaWait ? `quota paused until ${progress.quotaWait.resetAt}` : phase.state;
      const expired = expiredNote(phase);
      const key = `${phase.windowsDone}/${phase.windowsTotal} ${state} ${expired}`;
      if (this.lastLine.get(name) === key) continue;
      this.lastLine.set(name, key);
      this.stream.write(
        `${this.indent}${name.padEnd(16)} ${phase.windowsDone}/${phase.windowsTotal} windows | ${phase.records} records | ${formatBytes(phase.bytes)} | ${phase.apiCalls} calls | ${state}${expired ? ` | ${expired}` : ''}\n`,
      );
    }
  }

  stop(): void {
    this.bars?.stop();
  }
}
