/**
 * Child process for the bulk benchmarks: an emulator seeded with N leads carrying 20 populated
 * fields, all created inside one 30-day window (one export covers them). Prints one JSON line
 * `{ url, clientId, clientSecret, leads, window, seedMs }` on stdout when ready, then serves
 * until killed. Run by bench/bulk-extract.ts; not meant to be started by hand.
 */
import { parseArgs } from 'node:util';
import { startEmulator } from '../emulator/index.js';
import { closeBulk, configureBulk } from '../emulator/bulk/service.js';

const { values } = parseArgs({ options: { leads: { type: 'string', default: '1000000' } } });
const LEADS = Number(values.leads);
const WINDOW = { startAt: '2024-03-01T00:00:00Z', endAt: '2024-03-30T23:59:59Z' };
const CLIENT_ID = 'bench-bulk-id';
const CLIENT_SECRET = 'bench-bulk-secret';

const started = Date.now();
const emulator = await startEmulator({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  // The benchmark measures the bulk path, not the REST limiter.
  limits: { rateLimitCalls: 100_000, dailyQuota: 10_000_000 },
  seed: { leads: LEADS, from: '2024-03-01T00:00:00Z', to: '2024-03-30T00:00:00Z', programs: 0, lists: 0, opportunities: 0, customObjects: 0, changeRate: 0 },
});
// The seed fills 11 lead fields (+ id, createdAt, updatedAt); six more make the 20 the benchmark exports.
const sub = emulator.subscription;
const STATES = ['IL', 'NY', 'CA', 'TX', 'WA', 'MA'];
for (const id of sub.leads.ids()) {
  sub.leads.setValue(id, 'phone', `+1-312-555-${String(id % 10_000).padStart(4, '0')}`);
  sub.leads.setValue(id, 'state', STATES[id % STATES.length]!);
  sub.leads.setValue(id, 'postalCode', String(60_000 + (id % 1000)));
  sub.leads.setValue(id, 'industry', id % 3 ? 'Software' : 'Manufacturing, Heavy');
  sub.leads.setValue(id, 'website', `https://lead${id}.example.com/`);
  sub.leads.setValue(id, 'department', id % 7 ? 'Marketing' : 'Sales "Inside"');
}
await configureBulk(sub, { export: { rowsPerSecond: 0 }, import: { rowsPerSecond: 0 } });
process.stdout.write(`${JSON.stringify({ url: emulator.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, leads: LEADS, window: WINDOW, seedMs: Date.now() - started })}\n`);
process.on('SIGTERM', () => void closeBulk(sub).then(() => emulator.close()).finally(() => process.exit(0)));
