import cliProgress from 'cli-progress';
import type { BootstrapProgress } from '../../workflows/bootstrap-types.js';
import { BAR_FORMAT, barPayload } from './bootstrap-progress.js';

// The bootstrap's live progress bars, one per phase, as `marketo-sync bootstrap` and the demo
// both draw them from the workflow's `progress` query: the same tokens in the same places.

export interface BootstrapBarsOptions {
  /** Put in front of every bar (the demo indents its story). */
  indent?: string;
  /** Default stderr; bars are drawn only on a terminal unless `noTTYOutput`. */
  stream?: NodeJS.WritableStream;
  noTTYOutput?: boolean;
}

/** A bar per phase, created when the phase first shows up in the progress. */
export class BootstrapBars {
  private readonly bars: cliProgress.MultiBar;
  private readonly byPhase = new Map<string, cliProgress.SingleBar>();

  constructor(options: BootstrapBarsOptions = {}) {
    this.bars = new cliProgress.MultiBar(
      { format: `${options.indent ?? ''}${BAR_FORMAT}`, hideCursor: true, clearOnComplete: false, stream: options.stream, noTTYOutput: options.noTTYOutput },
      cliProgress.Presets.shades_classic,
    );
  }

  show(progress: BootstrapProgress): void {
    for (const [name, phase] of Object.entries(progress.phases)) {
      const payload = barPayload(name, phase, progress);
      const total = Math.max(phase.windowsTotal, 1);
      let bar = this.byPhase.get(name);
      if (!bar) this.byPhase.set(name, (bar = this.bars.create(total, phase.windowsDone, payload)));
      bar.setTotal(total);
      bar.update(phase.windowsDone, payload);
    }
  }

  stop(): void {
    this.bars.stop();
  }
}
