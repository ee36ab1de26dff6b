/**
 * Acceptance benchmark for bulk extract: the emulator (a child process, so its memory is not
 * counted) holds 1,000,000 leads; the client exports them with 20 fields and streams the file
 * through download + sha256 + parse into typed rows. The same file is then read from local disk
 * with the same parser. Reports rows/s of both, their ratio (goal ≥ 0.8) and the client
 * process's peak RSS (goal ≤ 200 MB).
 *
 *   npx tsx bench/bulk-extract.ts [--leads 1000000]
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { MarketoClient } from '../src/marketo/index.js';
import { BulkExtractApi } from '../src/marketo/bulk/extract.js';
import { createExportParser } from '../src/marketo/bulk/parser.js';

const { values } = parseArgs({ options: { leads: { type: 'string', default: '1000000' } } });
const FIELDS = [
  'id', 'email', 'firstName', 'lastName', 'title', 'company', 'city', 'state', 'postalCode', 'country',
  'phone', 'website', 'industry', 'department', 'leadSource', 'leadScore', 'externalCompanyId', 'externalSalesPersonId', 'createdAt', 'updatedAt',
];

interface Ready {
  url: string;
  clientId: string;
  clientSecret: string;
  leads: number;
  window: { startAt: string; endAt: string };
  seedMs: number;
}

const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bulk-emulator.ts'), '--leads', values.leads], { stdio: ['ignore', 'pipe', 'inherit'] });
const ready = await new Promise<Ready>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`emulator child exited with ${code}`)));
  createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as Ready));
});
const dir = mkdtempSync(join(tmpdir(), 'bench-bulk-extract-'));
try {
  console.log(`emulator child ready: ${ready.leads} leads seeded in ${(ready.seedMs / 1000).toFixed(1)} s`);
  const client = new MarketoClient({ baseUrl: ready.url, clientId: ready.clientId, clientSecret: ready.clientSecret });
  const api = new BulkExtractApi(client);
  const target = { kind: 'leads' } as const;

  const t = performance.now();
  const job = await api.create(target, { fields: FIELDS, format: 'CSV', filter: { createdAt: ready.window } });
  await api.enqueue(target, job.exportId);
  const done = await api.waitUntilDone(target, job.exportId, { pollIntervalMs: 2000 });
  console.log(`export job ${done.status}: ${done.numberOfRecords} records, ${(done.fileSize! / 1e6).toFixed(1)} MB, generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // The same bytes on local disk, for the baseline; a first untimed parse of a prefix warms the
  // parser up so neither timed run pays for JIT compilation.
  const local = join(dir, 'leads.csv');
  await pipeline(await api.fileOpener(target, done.exportId)(0), createWriteStream(local));
  const parseLocal = async (limit: number): Promise<{ rows: number; cells: number }> => {
    const parser = createExportParser({ kind: 'leads', format: 'CSV' });
    let rows = 0;
    let cells = 0;
    for await (const parsed of createReadStream(local).pipe(parser.stream) as AsyncIterable<{ row: Record<string, unknown> }>) {
      cells += Object.keys(parsed.row).length;
      if (++rows >= limit) break;
    }
    return { rows, cells };
  };
  await parseLocal(50_000);
  const rssBefore = process.memoryUsage().rss / 1048576;

  // HTTP: download + checksum + parse into typed rows, counted by a consumer that touches each row.
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  const httpCpu: number[] = [];
  const diskCpu: number[] = [];
  const overHttp = async (): Promise<{ seconds: number; summary: Awaited<ReturnType<typeof api.download>> }> => {
    let cells = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const summary = await api.download(target, done, {}, (row) => {
      cells += Object.keys(row).length;
    });
    const seconds = (performance.now() - started) / 1000;
    httpCpu.push(cpuSeconds(cpu));
    if (summary.rows !== ready.leads || cells !== ready.leads * FIELDS.length) throw new Error(`download delivered ${summary.rows} rows / ${cells} cells`);
    return { seconds, summary };
  };
  // Local disk: the same parser, no network and no checksum.
  const fromDisk = async (): Promise<number> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const disk = await parseLocal(Infinity);
    diskCpu.push(cpuSeconds(cpu));
    if (disk.rows !== ready.leads || disk.cells !== ready.leads * FIELDS.length) throw new Error(`disk parse read ${disk.rows} rows`);
    return (performance.now() - started) / 1000;
  };
  // Two rounds, alternating, best of each: the machine is shared, so one slow spell should not decide the ratio.
  const diskRuns: number[] = [];
  const httpRuns: number[] = [];
  let summary: Awaited<ReturnType<typeof api.download>> | undefined;
  for (let round = 0; round < 2; round++) {
    diskRuns.push(await fromDisk());
    const http = await overHttp();
    httpRuns.push(http.seconds);
    summary = http.summary;
  }
  const httpSeconds = Math.min(...httpRuns);
  const diskSeconds = Math.min(...diskRuns);
  const diskRows = ready.leads;
  if (!summary) throw new Error('no download ran');

  const httpRate = summary.rows / httpSeconds;
  const diskRate = diskRows / diskSeconds;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const list = (runs: number[]) => runs.map((s) => `${s.toFixed(1)} s`).join(', ');
  console.log(`download+parse over HTTP: ${summary.rows} rows, best ${httpSeconds.toFixed(1)} s = ${Math.round(httpRate)} rows/s (runs ${list(httpRuns)}; checksum verified: ${summary.checksumVerified})`);
  console.log(`parse from local disk:    ${diskRows} rows, best ${diskSeconds.toFixed(1)} s = ${Math.round(diskRate)} rows/s (runs ${list(diskRuns)})`);
  console.log(`ratio HTTP / disk: ${(httpRate / diskRate).toFixed(2)} (goal >= 0.8), wall clock, best of each`);
  console.log(`client CPU seconds per run: HTTP ${list(httpCpu)}; disk ${list(diskCpu)}; CPU-time ratio ${(Math.min(...diskCpu) / Math.min(...httpCpu)).toFixed(2)}`);
  console.log(`load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  console.log(`client peak RSS: ${peakRssMb.toFixed(0)} MB (goal <= 200 MB); RSS before the timed runs ${rssBefore.toFixed(0)} MB`);
  console.log(`API calls by the client: ${client.usage().dailyCalls}`);
} finally {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
