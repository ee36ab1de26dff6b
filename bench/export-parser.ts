/**
 * The bulk export parser's cost per row, in one process: a lead export file (the bootstrap
 * bench's column count, realistic cell mix) parsed by the product parser (papaparse under
 * CsvRecordReader) and by the baseline it replaced (csv-parse with `info` for byte offsets,
 * copied below as it was), fed in HTTP-sized chunks. Rounds alternate so both see the same
 * machine; the load average is printed with each figure because the machine is shared.
 *
 *   npx tsx bench/export-parser.ts [--rows 100000] [--columns 40] [--rounds 3] [--chunk 65536] [--utf8] [--only product|baseline]
 *
 * --only runs one of the two (for `node --cpu-prof --import tsx bench/export-parser.ts --only product`).
 *
 * --utf8 puts a multi-byte cell in every row, so no chunk is ASCII and byte offsets take the
 * per-record UTF-8 count instead of the character count.
 */
import { Readable, type Duplex } from 'node:stream';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { parse } from 'csv-parse';
import { createExportParser, type ParsedRow } from '../src/marketo/bulk/parser.js';
import type { RecordRow } from '../src/marketo/bulk/rows.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    columns: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    chunk: { type: 'string', default: String(64 * 1024) },
    utf8: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const rows = Number(values.rows);
const chunkSize = Number(values.chunk);
const columns = Array.from({ length: Number(values.columns) }, (_, i) => (i === 0 ? 'id' : `field${i}`));

function cellFor(r: number, c: number): string {
  if (c === 0) return String(r + 1);
  if (values.utf8 && c === 1) return 'Zoë Łódź';
  // Most cells of a real export are empty or short; a few are quoted (commas, quotes).
  switch ((r + c) % 5) {
    case 0: return 'null';
    case 1: return '';
    case 2: return `value ${r}-${c}`;
    case 3: return '"Smith, ""Jr"""';
    default: return String((r * 31 + c) % 100000);
  }
}
const lines = [columns.join(',')];
for (let r = 0; r < rows; r++) lines.push(columns.map((_, c) => cellFor(r, c)).join(','));
const file = Buffer.from(lines.join('\n') + '\n');
const chunks: Buffer[] = [];
for (let at = 0; at < file.length; at += chunkSize) chunks.push(file.subarray(at, at + chunkSize));

/** The product parser before papaparse (src/marketo/bulk/parser.ts at 9118ee3), text-record kinds only. */
function baselineStream(): Duplex {
  let width = 0;
  return parse({
    delimiter: ',',
    bom: true,
    columns: (header: string[]) => {
      width = header.length;
      return header;
    },
    relax_column_count: true,
    on_record: (record: Record<string, string | null>, info): ParsedRow<RecordRow> => {
      const end = info.bytes;
      if (info.error) return { malformed: { line: info.lines, end, reason: `${info.index} cells where the header has ${width} columns` }, end };
      for (const key in record) if (record[key] === 'null') record[key] = null;
      return { row: record, end };
    },
  });
}

async function count(stream: Duplex): Promise<{ rows: number; end: number }> {
  let n = 0;
  let end = 0;
  for await (const item of Readable.from(chunks).pipe(stream) as AsyncIterable<ParsedRow<RecordRow>>) {
    if (item.row) n++;
    end = item.end;
  }
  return { rows: n, end };
}

const parsers = (
  [
    ['baseline', 'baseline (csv-parse + info)', () => count(baselineStream())],
    ['product', 'product (papaparse + CsvRecordReader)', () => count(createExportParser({ kind: 'leads', format: 'CSV' }).stream)],
  ] as const
)
  .filter(([key]) => values.only === undefined || values.only === key)
  .map(([, name, run]) => [name, run] as const);

console.log(`${rows} rows x ${columns.length} columns, ${(file.length / 1024 / 1024).toFixed(1)} MB${values.utf8 ? ' (a multi-byte cell per row)' : ''}, ${chunks.length} chunks of ${chunkSize} bytes`);
// Collector pauses while a parser runs (part of its CPU figure): the worker's profile showed GC as its second cost.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
const cpuPerRow = new Map<string, number[]>();
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const [name, run] of parsers) {
    const load = loadavg()[0]!;
    const cpu = process.cpuUsage();
    const t = performance.now();
    gcMs = 0;
    const result = await run();
    // GC entries are delivered asynchronously: let the last ones arrive before reading the sum.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    if (result.rows !== rows || result.end !== file.length) throw new Error(`${name} parsed ${result.rows} rows of ${rows}, ending at byte ${result.end} of ${file.length}`);
    const us = (used.user + used.system) / rows;
    cpuPerRow.set(name, [...(cpuPerRow.get(name) ?? []), us]);
    console.log(`round ${round} ${name.padEnd(38)} ${Math.round(rows / (ms / 1000)).toString().padStart(7)} rows/s, ${us.toFixed(1).padStart(5)} µs CPU/row, GC ${Math.round(gcMs).toString().padStart(5)} ms (load ${load.toFixed(1)})`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [base, product] = parsers.map(([name]) => median(cpuPerRow.get(name)!));
if (base !== undefined && product !== undefined) {
  console.log(`median µs CPU/row: baseline ${base.toFixed(1)}, product ${product.toFixed(1)} (${(base / product).toFixed(1)}x less), load now ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}
