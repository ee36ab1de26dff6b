import { startEmulator } from '../../../emulator/index.js';
import { closeBulk, configureBulk } from '../../../emulator/bulk/service.js';
import type { BulkOptions } from '../../../emulator/bulk/options.js';
import { MarketoClient } from '../../../src/marketo/index.js';

export type RunningEmulator = Awaited<ReturnType<typeof startEmulator>>;
type EmulatorOptions = NonNullable<Parameters<typeof startEmulator>[0]>;

const CLIENT_ID = 'bulk-test-id';
const CLIENT_SECRET = 'bulk-test-secret';

export interface BulkTestEmulator {
  emulator: RunningEmulator;
  client: MarketoClient;
  close(): Promise<void>;
}

/** An emulator with bulk settings applied, and a REST client pointed at it. */
export async function startBulkEmulator(options: EmulatorOptions = {}, bulk: BulkOptions = {}): Promise<BulkTestEmulator> {
  const emulator = await startEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });
  await configureBulk(emulator.subscription, bulk);
  const client = new MarketoClient({ baseUrl: emulator.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  return {
    emulator,
    client,
    close: async () => {
      await closeBulk(emulator.subscription);
      await emulator.close();
    },
  };
}
