/**
 * Keeps a listener on SIGINT and SIGTERM for as long as a long-running command needs to stop
 * gracefully, calling `stop` on each (it must be idempotent). The Temporal SDK stops listening after
 * the first signal, and under tsx (`npm start`, `npx tsx client/cli.ts`) Ctrl-C arrives twice — from
 * the terminal and relayed by tsx — and tsx ends a child that has no listener left at once (exit
 * 130): the demo died mid-story without its message, leaving the embedded Postgres running.
 * Returns the function that removes the listener.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, stop);
  return () => {
    for (const s of signals) process.off(s, stop);
  };
}
