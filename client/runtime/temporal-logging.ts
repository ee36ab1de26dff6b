import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/**
 * Temporal's worker logs every lifecycle step and the workflow bundle's module list at INFO,
 * which buries a command's own output; commands keep warnings and errors unless asked for more.
 * Must run before the first connection or worker is created.
 */
export function installTemporalLogging(level: LogLevel = (process.env.TEMPORAL_LOG_LEVEL as LogLevel | undefined) ?? 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // A runtime exists already (a test's, or a connection made first): keep it.
  }
}

let installed = false;
