/** Signals within this long of the first are the same Ctrl-C seen twice (the tsx relay below). */
const SAME_PRESS_MS = 1_000;

/**
 * Keeps a listener on SIGINT and SIGTERM for as long as a long-running command needs to stop
 * gracefully: the first signal calls `stop` (a graceful drain). The Temporal SDK stops listening
 * after the first signal, and under tsx (`npm start`, `npx tsx client/cli.ts`) Ctrl-C arrives twice —
 * from the terminal and relayed by tsx — and tsx ends a child with no listener left at once (exit
 * 130): the demo died mid-story without its message, leaving the embedded Postgres running. A
 * signal more than a second after the first is a second press: the operator wants out now (exit 130).
 * Returns the function that removes the listener.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void, log: (line: string) => void = (line) => console.error(line)): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let first: number | undefined;
  const listener = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (first === undefined) {
      first = now;
      log(`${signal}: stopping gracefully (press Ctrl-C again to stop at once)`);
      stop(signal);
    } else if (now - first > SAME_PRESS_MS) {
      log(`${signal} again: stopping at once`);
      process.exit(130);
    }
  };
  for (const s of signals) process.on(s, listener);
  return () => {
    for (const s of signals) process.off(s, listener);
  };
}
