/**
 * Acceptance benchmark for Bulk Lead Import: 100,000 leads (12 fields, 0.1 % with an invalid
 * email) go through BulkImportApi.run against the emulator (a child process): CSV files built as
 * a stream and cut under 10 MB, uploaded, polled, failures mapped back to input rows. Reports the
 * API calls spent (goal: about 1 per file plus status polls) against the 334 calls the
 * 300-record REST endpoint would need.
 *
 *   npx tsx bench/bulk-import.ts [--leads 100000] [--poll-ms 5000]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MarketoClient } from '../src/marketo/index.js';
import { BulkImportApi } from '../src/marketo/bulk/import.js';
import type { ImportRecord } from '../src/marketo/bulk/import-files.js';

const { values } = parseArgs({ options: { leads: { type: 'string', default: '100000' }, 'poll-ms': { type: 'string', default: '5000' } } });
const LEADS = Number(values.leads);
const POLL_MS = Number(values['poll-ms']);
const COLUMNS = ['email', 'firstName', 'lastName', 'title', 'company', 'city', 'state', 'postalCode', 'country', 'phone', 'leadSource', 'leadScore'];

function* leads(): Generator<ImportRecord> {
  for (let i = 0; i < LEADS; i++) {
    yield {
      email: i % 1000 === 999 ? `broken-address-${i}` : `bulk.import.${i}@example.com`,
      firstName: `First${i}`,
      lastName: i % 10 ? `Last${i}` : `O'Brien, "${i}"`,
      title: 'Marketing Manager',
      company: `Company ${i % 5000}`,
      city: 'Chicago',
      state: 'IL',
      postalCode: String(60_000 + (i % 1000)),
      country: 'USA',
      phone: `+1-312-555-${String(i % 10_000).padStart(4, '0')}`,
      leadSource: 'Bulk Import Benchmark',
      leadScore: i % 100,
    };
  }
}

const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bulk-emulator.ts'), '--leads', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const ready = await new Promise<{ url: string; clientId: string; clientSecret: string }>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`emulator child exited with ${code}`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as { url: string; clientId: string; clientSecret: string }));
});
try {
  const client = new MarketoClient({ baseUrl: ready.url, clientId: ready.clientId, clientSecret: ready.clientSecret });
  const api = new BulkImportApi(client);
  const failures: number[] = [];
  const t = performance.now();
  const summary = await api.run({ kind: 'leads', lookupField: 'email' }, leads(), { columns: COLUMNS, pollIntervalMs: POLL_MS }, (r) => {
    if (r.kind === 'failure') failures.push(r.inputIndex);
  });
  const seconds = (performance.now() - t) / 1000;
  const expectedFailures = Array.from({ length: Math.floor(LEADS / 1000) }, (_, k) => k * 1000 + 999);
  const mappedRight = failures.length === expectedFailures.length && failures.every((f, k) => f === expectedFailures[k]);
  const usage = client.usage();
  const calls = (await (await fetch(`${ready.url}/_emulator/calls`)).json()) as { total: number; endpoints: Record<string, { calls: number }> };
  console.log(`${summary.rows} leads in ${summary.files} files (${summary.batches.map((b) => `${(b.bytes / 1e6).toFixed(2)} MB`).join(', ')}) in ${seconds.toFixed(1)} s`);
  console.log(`imported ${summary.processed}, failed ${summary.failed} (mapped back to the right input rows: ${mappedRight}), warnings ${summary.warnings}`);
  console.log('API calls seen by the emulator:');
  for (const [endpoint, c] of Object.entries(calls.endpoints)) console.log(`  ${String(c.calls).padStart(4)}  ${endpoint}`);
  const bulkCalls = usage.dailyCalls;
  console.log(`API calls counted by the client: ${bulkCalls} (+ ${usage.identityCalls} token) for ${summary.files} files; REST sync at 300 records/call: ${Math.ceil(LEADS / 300)} calls`);
} finally {
  child.kill('SIGTERM');
}
