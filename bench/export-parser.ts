/**
 * The bulk export parser's cost per row, in one process: a lead export file (the bootstrap
 * bench's column count, realistic cell mix) parsed by the product parser and by the baseline it
 * replaced for text-record kinds (the same csv-parse pass plus a zod record check per row).
 * Rounds alternate so both see the same machine.
 *
 *   npx tsx bench/export-parser.ts [--rows 100000] [--columns 40] [--rounds 3]
 */
import { Readable } from 'node:stream';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { createExportParser } from '../src/marketo/bulk/parser.js';
import { recordRowSchema } from '../src/marketo/bulk/rows.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, columns: { type: 'string', default: '40' }, rounds: { type: 'string', default: '3' } } });
const rows = Number(values.rows);
const columns = Array.from({ length: Number(values.columns) }, (_, i) => (i === 0 ? 'id' : `field${i}`));

function cellFor(r: number, c: number): string {
  if (c === 0) return String(r + 1);
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

async function product(): Promise<number> {
  const parser = createExportParser({ kind: 'leads', format: 'CSV' });
  let n = 0;
  for await (const item of Readable.from([file]).pipe(parser.stream)) if ((item as { row?: unknown }).row) n++;
  return n;
}

async function baseline(): Promise<number> {
  const stream = parse({
    columns: true,
    bom: true,
    relax_column_count: true,
    on_record: (record: Record<string, string | null>) => {
      for (const key in record) if (record[key] === 'null') record[key] = null;
      const result = recordRowSchema.safeParse(record);
      return result.success ? { row: result.data } : { malformed: true };
    },
  });
  let n = 0;
  for await (const item of Readable.from([file]).pipe(stream)) if ((item as { row?: unknown }).row) n++;
  return n;
}

console.log(`${rows} rows x ${columns.length} columns, ${(file.length / 1024 / 1024).toFixed(1)} MB`);
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const [name, run] of [['baseline (csv-parse + zod record per row)', baseline], ['product parser', product]] as const) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    const n = await run();
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    if (n !== rows) throw new Error(`${name} parsed ${n} rows of ${rows}`);
    console.log(`round ${round} ${name.padEnd(42)} ${Math.round(rows / (ms / 1000))} rows/s, ${(((used.user + used.system) / rows)).toFixed(1)} µs CPU/row (load ${loadavg()[0]!.toFixed(1)})`);
  }
}
