import { startEmulator } from '../../../emulator/index.js';
import { MarketoClient, type MarketoClientOptions } from '../../../src/marketo/index.js';

type EmulatorOptions = Parameters<typeof startEmulator>[0];
export type RunningEmulator = Awaited<ReturnType<typeof startEmulator>>;

export const CLIENT_ID = 'client-test-id';
export const CLIENT_SECRET = 'client-test-secret';

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });
}

export function clientFor(emulator: RunningEmulator, options: Partial<MarketoClientOptions> = {}): MarketoClient {
  return new MarketoClient({ baseUrl: emulator.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });
}

export interface EmulatorCalls {
  total: number;
  endpoints: Record<string, { calls: number; counted: number; errors: Record<string, number> }>;
}

/** The emulator's own call counters (admin endpoint), to check what actually reached "Marketo". */
export async function emulatorCalls(emulator: RunningEmulator): Promise<EmulatorCalls> {
  const res = await fetch(`${emulator.url}/_emulator/calls`);
  if (!res.ok) throw new Error(`/_emulator/calls answered ${res.status}`);
  return (await res.json()) as EmulatorCalls;
}

export function errorCount(calls: EmulatorCalls, code: string): number {
  return Object.values(calls.endpoints).reduce((n, e) => n + (e.errors[code] ?? 0), 0);
}
