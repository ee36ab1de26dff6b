import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { downloadExport, type DownloadPosition } from '../../src/marketo/bulk/download.js';
import { createExportParser, type MalformedRow, type ParsedRow } from '../../src/marketo/bulk/parser.js';
import type { ExportKind, RecordRow, RowByKind } from '../../src/marketo/bulk/rows.js';
import { startRangeServer, gotOpener } from './support/range-server.js';
import { pieces } from './support/pieces.js';

// A real export is UTF-8; a damaged one loses the records with bad bytes (each reported in place,
// naming line, column and key), never the rest of its file.

async function parse<K extends ExportKind = 'leads'>(bytes: Buffer, sizes: readonly number[], kind: K = 'leads' as K): Promise<ParsedRow<RowByKind[K]>[]> {
  const parser = createExportParser({ kind, format: 'CSV' });
  const out: ParsedRow<RowByKind[K]>[] = [];
  for await (const item of Readable.from(pieces(bytes, sizes)).pipe(parser.stream)) out.push(item as ParsedRow<RowByKind[K]>);
  return out;
}

const bytes = (...parts: (string | number[] | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
const CHUNKINGS: readonly (readonly number[])[] = [[1], [2, 3], [7], [5, 1, 11], [64 * 1024]];

describe('export parser on bytes that are not UTF-8', () => {
  it('reports the one record with a bad byte, by line, column and id, and parses every other record as before', async () => {
    const head = 'id,email,firstName\n1,a@x.com,Ann\n';
    const bad = bytes('2,b', [0xff], '@x.com,Bob\n');
    const tail = '3,c@x.com,Zoë\n4,d@x.com,null\n';
    const file = bytes(head, bad, tail);
    const clean = bytes(head, '2,bX@x.com,Bob\n', tail);
    for (const sizes of CHUNKINGS) {
      const items = await parse(file, sizes);
      expect(items).toEqual([
        { row: { id: '1', email: 'a@x.com', firstName: 'Ann' }, end: Buffer.byteLength(head) },
        { malformed: { line: 3, end: Buffer.byteLength(head) + bad.length, reason: 'invalid UTF-8 in column email', id: '2' }, end: Buffer.byteLength(head) + bad.length },
        { row: { id: '3', email: 'c@x.com', firstName: 'Zoë' }, end: file.length - Buffer.byteLength('4,d@x.com,null\n') },
        { row: { id: '4', email: 'd@x.com', firstName: null }, end: file.length },
      ]);
      // Same byte length as the clean file: every end is where the clean file's is.
      expect(items.map((i) => i.end)).toEqual((await parse(clean, sizes)).map((i) => i.end));
    }
  });

  it('gives the same items wherever the chunks are cut, bad sequences and multi-byte characters split included', async () => {
    // A lead byte whose character is cut short by ASCII (E2 82 then 'A'), an encoded surrogate
    // (ED A0 80), an overlong '/' (C0 AF), a code point above U+10FFFF (F4 90 80 80), a lone
    // continuation byte, and valid 2-, 3- and 4-byte characters next to them.
    const file = bytes(
      'id,name,note\r\n',
      '10,ok Zoë,日本\r\n',
      '11,', [0xe2, 0x82], 'A€,fine\r\n',
      '12,😀,', [0xed, 0xa0, 0x80], '\r\n',
      '13,x', [0xc0, 0xaf], 'y,', [0xf4, 0x90, 0x80, 0x80], '\r\n',
      '14,😀', [0x80], '日,ok\r\n',
      '15,last,😀\r\n',
    );
    const expected = await parse(file, [64 * 1024]);
    expect(expected.map((i) => i.row?.id ?? i.malformed)).toEqual([
      '10',
      { line: 3, end: expect.any(Number), reason: 'invalid UTF-8 in column name', id: '11' },
      { line: 4, end: expect.any(Number), reason: 'invalid UTF-8 in column note', id: '12' },
      { line: 5, end: expect.any(Number), reason: 'invalid UTF-8 in columns name, note', id: '13' },
      { line: 6, end: expect.any(Number), reason: 'invalid UTF-8 in column name', id: '14' },
      '15',
    ]);
    // Each end is just past its record's CRLF.
    const ends: number[] = [];
    for (let i = file.indexOf('\r\n') + 2; i < file.length; i = file.indexOf('\r\n', i) + 2) ends.push(file.indexOf('\r\n', i) + 2);
    expect(expected.map((i) => i.end)).toEqual(ends);
    expect(expected[5]!.row).toEqual({ id: '15', name: 'last', note: '😀' });
    for (let cut = 1; cut < file.length; cut++) {
      expect({ cut, items: await parse(file, [cut, 64 * 1024]) }).toEqual({ cut, items: expected });
    }
    for (const sizes of CHUNKINGS) expect(await parse(file, sizes)).toEqual(expected);
  });

  it('a bad byte inside a quoted cell with line breaks costs that record only, and later lines are still counted right', async () => {
    const file = bytes('id,note,x\n', '1,"line one\nbad ', [0xfe], ' here\nline three",x\n', '2,"a\nb",y\n', '3,c,"z\n"\n');
    for (const sizes of CHUNKINGS) {
      const items = await parse(file, sizes);
      expect(items.map((i) => i.row ?? i.malformed)).toEqual([
        { line: 4, end: file.indexOf('2,"a'), reason: 'invalid UTF-8 in column note', id: '1' },
        { id: '2', note: 'a\nb', x: 'y' },
        { id: '3', note: 'c', x: 'z\n' },
      ]);
      expect(items.map((i) => i.end)).toEqual([file.indexOf('2,"a'), file.indexOf('3,c'), file.length]);
    }
  });

  it('names no id when the key cell itself is damaged, and counts cells first when the line is ragged', async () => {
    const file = bytes('id,email\n', '7', [0xff], ',a@x.com\n', '8,b', [0xff], ',extra\n', '9,c@x.com\n');
    const items = await parse(file, [3]);
    expect(items.map((i) => i.row ?? i.malformed)).toEqual([
      { line: 2, end: file.indexOf('8,b'), reason: 'invalid UTF-8 in column id' },
      { line: 3, end: file.indexOf('9,c'), reason: '3 cells where the header has 2 columns, and bytes that are not UTF-8' },
      { id: '9', email: 'c@x.com' },
    ]);
  });

  it('reports a file that ends inside a character as a bad last record', async () => {
    const file = Buffer.from('id,name\n1,a\n2,Zoë').subarray(0, -1);
    for (const sizes of CHUNKINGS) {
      expect((await parse(file, sizes)).map((i) => i.row ?? i.malformed)).toEqual([
        { id: '1', name: 'a' },
        { line: 3, end: file.length, reason: 'invalid UTF-8 in column name', id: '2' },
      ]);
    }
  });

  it('activities: the bad record carries its marketoGUID; schema failures name the key too', async () => {
    const file = bytes('marketoGUID,leadId,primaryAttributeValue\n', 'g-1,5,', [0xc3], '(\n', 'g-2,x,ok\n', 'g-3,6,ok\n');
    const items = await parse(file, [4], 'activities');
    expect(items.map((i) => i.row ?? i.malformed)).toEqual([
      { line: 2, end: expect.any(Number), reason: 'invalid UTF-8 in column primaryAttributeValue', id: 'g-1' },
      { line: 3, end: expect.any(Number), reason: 'leadId: expected an integer', id: 'g-2' },
      { marketoGUID: 'g-3', leadId: 6, primaryAttributeValue: 'ok' },
    ]);
  });

  it('a header that is not UTF-8 fails the file, naming the column', async () => {
    const file = bytes('id,e', [0xff], 'mail\n1,a\n');
    for (const sizes of CHUNKINGS) await expect(parse(file, sizes)).rejects.toThrow('bulk file header is not valid UTF-8 (column 2, line 1)');
  });

  it('a file of valid UTF-8 that holds U+FFFD and characters beyond the BMP is read as it is', async () => {
    const file = Buffer.from('id,a\n1,\uFFFD😀\uFFFD\n');
    expect(await parse(file, [1])).toEqual([{ row: { id: '1', a: '\uFFFD😀\uFFFD' }, end: file.length }]);
  });
});

describe('downloadExport over HTTP with a damaged record', () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `${i + 1},lead${i + 1}@example.com,Name ${i + 1} Zoë\n`);
  // Record 1234 has a Latin-1 'é' (one byte E9) where UTF-8 needs two.
  lines[1233] = '1234,lead1234@example.com,Ren\xe9\n';
  const file = Buffer.concat([Buffer.from('id,email,firstName\n'), ...lines.map((l, i) => (i === 1233 ? Buffer.from(l, 'latin1') : Buffer.from(l)))]);
  const checksum = `sha256:${createHash('sha256').update(file).digest('hex')}`;

  it('hands the bad record to onMalformed in file order, every other row to onRow, and verifies the checksum', async () => {
    const server = await startRangeServer(file);
    try {
      const seen: (string | MalformedRow)[] = [];
      const summary = await downloadExport(
        { open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, expectedChecksum: checksum, onMalformed: (bad) => void seen.push(bad) },
        (row: RecordRow) => void seen.push(row.id!),
      );
      expect(summary).toMatchObject({ rows: 2000, malformed: 1, checksumVerified: true, bytes: file.length });
      expect(seen).toHaveLength(2000);
      expect(seen[1233]).toEqual({ line: 1235, end: file.indexOf('1235,'), reason: 'invalid UTF-8 in column firstName', id: '1234' });
      expect(seen.filter((s) => typeof s === 'string')).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1)).filter((id) => id !== '1234'));
    } finally {
      await server.close();
    }
  });

  it('resumed from a position just past the bad record, the tail is read without it', async () => {
    const server = await startRangeServer(file);
    try {
      let saved: DownloadPosition | undefined;
      await expect(
        downloadExport({ open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, onMalformed: (_bad, position) => void (saved = position) }, (row: RecordRow) => {
          if (row.id === '1300') throw new Error('worker crashed');
        }),
      ).rejects.toThrow('worker crashed');
      expect(saved).toMatchObject({ byteOffset: file.indexOf('1235,'), rows: 1234 });
      const ids: string[] = [];
      const summary = await downloadExport({ open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, expectedChecksum: checksum, from: saved }, (row: RecordRow) => void ids.push(row.id!));
      expect(summary).toMatchObject({ rows: 2000, malformed: 0, checksumVerified: true });
      expect(ids).toEqual(Array.from({ length: 766 }, (_, i) => String(i + 1235)));
    } finally {
      await server.close();
    }
  });
});
