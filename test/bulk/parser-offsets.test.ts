import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { createExportParser, type ParsedRow } from '../../src/marketo/bulk/parser.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { delimiterOf, type ExportFormat } from '../../src/marketo/bulk/formats.js';
import { pieces } from './support/pieces.js';

type Item = ParsedRow<RecordRow>;

async function parseLeads(bytes: Buffer, sizes: readonly number[], resume?: { columns: readonly string[]; byteOffset: number }, format: ExportFormat = 'CSV'): Promise<Item[]> {
  const parser = createExportParser({ kind: 'leads', format, resume });
  const out: Item[] = [];
  for await (const item of Readable.from(pieces(bytes, sizes)).pipe(parser.stream)) out.push(item as Item);
  return out;
}

/** 1-based line a record ending at byte `end` ends on: line breaks before it, as an editor counts them. */
function lineOf(bytes: Buffer, end: number): number {
  let breaks = 0;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) breaks++;
  return bytes[end - 1] === 0x0a ? breaks : breaks + 1;
}

/**
 * The parser this one replaced (csv-parse with `info`), kept here as an independent oracle: the
 * same file must give the same rows, byte ends and malformed reasons. Lines come from counting
 * line breaks in the bytes instead: csv-parse also counts each '\r' inside a quoted cell as one.
 */
async function oracle(bytes: Buffer, format: ExportFormat): Promise<Item[]> {
  let width = 0;
  const stream = parse({
    delimiter: delimiterOf(format),
    bom: true,
    columns: (header: string[]) => {
      width = header.length;
      return header;
    },
    relax_column_count: true,
    on_record: (record: Record<string, string | null>, info): Item => {
      const end = info.bytes;
      if (info.error) return { malformed: { line: lineOf(bytes, end), end, reason: `${info.index} cells where the header has ${width} columns` }, end };
      for (const key in record) if (record[key] === 'null') record[key] = null;
      return { row: record, end };
    },
  });
  const out: Item[] = [];
  for await (const item of Readable.from([bytes]).pipe(stream)) out.push(item as Item);
  return out;
}

function random(seed: number): () => number {
  // mulberry32: small, deterministic, good enough to spread cases.
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLAIN = ['', 'null', 'Russell', '12345', 'Zoë', 'Łódź', '日本語', 'emoji 😀 here', 'a b', '\uFEFFmid-file BOM'];
const NEEDS_QUOTES = ['a,b', 'Smith, "Jr"', 'two\nlines', 'crlf\r\ninside', '"', ',', '😀,"😀"\n😀', 'null', 'tab\there', 'semi;colon'];

/** A random export file: mixed cells, quoted cells with delimiters, quotes and line breaks, ragged lines. */
function randomFile(rnd: () => number, crlf: boolean, bom: boolean, finalBreak: boolean, delimiter = ','): Buffer {
  const eol = crlf ? '\r\n' : '\n';
  const width = 1 + Math.floor(rnd() * 5);
  const lines = [Array.from({ length: width }, (_, i) => `col${i}`).join(delimiter)];
  const count = 1 + Math.floor(rnd() * 25);
  for (let r = 0; r < count; r++) {
    // One line in twenty is empty (one empty cell), one in eight has a wrong cell count.
    if (rnd() < 0.05) {
      lines.push('');
      continue;
    }
    const cells = rnd() < 0.125 ? Math.max(1, width + (rnd() < 0.5 ? -1 : 1)) : width;
    const line: string[] = [];
    for (let c = 0; c < cells; c++) {
      if (rnd() < 0.3) line.push(`"${NEEDS_QUOTES[Math.floor(rnd() * NEEDS_QUOTES.length)]!.replace(/"/g, '""')}"`);
      else line.push(PLAIN[Math.floor(rnd() * PLAIN.length)]!);
    }
    lines.push(line.join(delimiter));
  }
  return Buffer.from(`${bom ? '\uFEFF' : ''}${lines.join(eol)}${finalBreak ? eol : ''}`);
}

const CHUNKINGS: readonly (readonly number[])[] = [[1], [2, 3], [7], [5, 1, 11], [64 * 1024]];

describe('createExportParser on bytes split anywhere', () => {
  it('gives the rows, byte ends and malformed lines csv-parse gives, for any chunking', async () => {
    const rnd = random(20261128);
    const formats: readonly ExportFormat[] = ['CSV', 'CSV', 'TSV', 'SSV'];
    for (let n = 0; n < 60; n++) {
      const format = formats[n % formats.length]!;
      const file = randomFile(rnd, n % 2 === 1, n % 3 === 0, n % 5 !== 4, delimiterOf(format));
      const expected = await oracle(file, format);
      for (const sizes of CHUNKINGS) {
        const label = `file ${n} (${format}), pieces of ${sizes.join('/')}`;
        expect({ label, items: await parseLeads(file, sizes, undefined, format) }).toEqual({ label, items: expected });
      }
    }
  });

  it('resumes from any row end with the given columns and yields the same tail', async () => {
    const rnd = random(7);
    for (let n = 0; n < 12; n++) {
      const file = randomFile(rnd, n % 2 === 0, true, true);
      const whole = await parseLeads(file, [64 * 1024]);
      const header = file.subarray(0, file.indexOf('\n')).toString('utf8').replace(/^\uFEFF/, '').replace(/\r$/, '');
      const columns = header.split(',');
      for (let k = 0; k < whole.length; k++) {
        const byteOffset = whole[k]!.end;
        const tail = await parseLeads(file.subarray(byteOffset), [3], { columns, byteOffset });
        // Lines restart at the resume point; rows and byte ends do not.
        const strip = (items: Item[]) => items.map((i) => ({ row: i.row, end: i.end, malformed: i.malformed?.reason }));
        expect(strip(tail)).toEqual(strip(whole.slice(k + 1)));
      }
    }
  });

  it('puts each end just past its record after multi-byte cells, CRLF, and quoted line breaks', async () => {
    const records = ['id,name,note\r\n', '1,Zoë,"line one\r\nline two"\r\n', '2,日本語 😀,null\r\n', '3,"""quoted""",\r\n'];
    const file = Buffer.from(records.join(''));
    const items = await parseLeads(file, [1]);
    const ends = records.map((_, i) => Buffer.byteLength(records.slice(0, i + 1).join('')));
    expect(items.map((i) => i.end)).toEqual(ends.slice(1));
    expect(items.map((i) => i.row)).toEqual([
      { id: '1', name: 'Zoë', note: 'line one\r\nline two' },
      { id: '2', name: '日本語 😀', note: null },
      { id: '3', name: '"quoted"', note: '' },
    ]);
    // Every end is a place the file can be cut and resumed from.
    for (const end of ends) expect(file.subarray(end - 2, end).toString()).toBe('\r\n');
  });

  it('keeps a quoted line break that falls across a chunk boundary inside its cell', async () => {
    const text = 'a,b\n1,"x\ny"\n2,"\n"\n';
    for (let cut = 1; cut < text.length; cut++) {
      const items = await parseLeads(Buffer.from(text), [cut, 64]);
      expect(items.map((i) => [i.row, i.end])).toEqual([
        [{ a: '1', b: 'x\ny' }, 12],
        [{ a: '2', b: '\n' }, 18],
      ]);
    }
  });

  it('counts lines inside quoted cells when naming a malformed line', async () => {
    const items = await parseLeads(Buffer.from('a,b\n1,"x\ny\nz"\n2\n'), [1]);
    expect(items.map((i) => i.malformed?.line ?? i.row)).toEqual([{ a: '1', b: 'x\ny\nz' }, 5]);
  });

  it('drops a byte order mark only at the start of a file, counting its bytes', async () => {
    const file = Buffer.from('\uFEFFa,b\n1,\uFEFF2\n');
    const items = await parseLeads(file, [1]);
    expect(items).toEqual([{ row: { a: '1', b: '\uFEFF2' }, end: file.length }]);
    // A resumed tail starts at a row boundary, not at the file's start: a BOM there is data.
    const tail = Buffer.from('\uFEFF3,4\n');
    expect(await parseLeads(tail, [1], { columns: ['a', 'b'], byteOffset: 100 })).toEqual([{ row: { a: '\uFEFF3', b: '4' }, end: 100 + tail.length }]);
  });

  it('reads a quoted "null" as null like a bare one (Marketo never quotes it), and an empty cell as empty text', async () => {
    const items = await parseLeads(Buffer.from('a,b,c\nnull,"null",""\n'), [2]);
    expect(items[0]!.row).toEqual({ a: null, b: null, c: '' });
  });

  it('reads a last record without a line break', async () => {
    const items = await parseLeads(Buffer.from('a,b\r\n1,2\r\n3,"4\r\n"'), [1]);
    expect(items.map((i) => [i.row, i.end])).toEqual([
      [{ a: '1', b: '2' }, 10],
      [{ a: '3', b: '4\r\n' }, 17],
    ]);
  });

  it('fails the stream on a quote left open or a closing quote followed by other characters, naming the line', async () => {
    await expect(parseLeads(Buffer.from('a,b\n1,2\n3,"4\n5,6\n'), [1])).rejects.toThrow(/line 3: .*unclosed quote/);
    await expect(parseLeads(Buffer.from('a,b\n1,"2"x\n'), [1])).rejects.toThrow(/line 2: .*closing quote/);
    // A CRLF file cut between the '\r' and '\n' after a closing quote is not an error.
    expect((await parseLeads(Buffer.from('a,b\r\n1,"2"\r\n'), [10, 1])).map((i) => i.row)).toEqual([{ a: '1', b: '2' }]);
  });

  it('refuses an empty or __proto__ column in the header', async () => {
    await expect(parseLeads(Buffer.from('a,,b\n1,2,3\n'), [4])).rejects.toThrow(/empty column name/);
    await expect(parseLeads(Buffer.from('a,__proto__\n1,2\n'), [4])).rejects.toThrow(/__proto__/);
  });
});

describe('createExportParser on awkward input', () => {
  it('keeps header names that look like code as plain field names', async () => {
    const names = ['a"b', 'back\\slash', '}', 'x\u2028y', 'constructor', 'toString', '1', 'c[0]', '${x}'];
    const header = names.map((n) => `"${n.replace(/"/g, '""')}"`).join(',');
    const items = await parseLeads(Buffer.from(`${header}\n${names.map((_, i) => (i === 2 ? 'null' : `v${i}`)).join(',')}\n`), [5]);
    const row = items[0]!.row!;
    expect(Object.keys(row).sort()).toEqual([...names].sort());
    expect(names.map((n) => row[n])).toEqual(['v0', 'v1', null, 'v3', 'v4', 'v5', 'v6', 'v7', 'v8']);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });

  it('refuses resume columns no row could hold', async () => {
    await expect(parseLeads(Buffer.from('1,2\n'), [4], { columns: ['a', '__proto__'], byteOffset: 10 })).rejects.toThrow(/__proto__/);
    await expect(parseLeads(Buffer.from('1,2\n'), [4], { columns: ['a', 'a'], byteOffset: 10 })).rejects.toThrow(/repeats column "a"/);
  });

  it('reports a record with bytes that are not UTF-8 in place without shifting any later offset (more in parser-invalid-utf8.test.ts)', async () => {
    const file = Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xff]), Buffer.from('\n2,3\n')]);
    expect(await parseLeads(file, [1])).toEqual([
      { malformed: { line: 2, end: 8, reason: 'invalid UTF-8 in column b' }, end: 8 },
      { row: { a: '2', b: '3' }, end: 12 },
    ]);
  });
});
