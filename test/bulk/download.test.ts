import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { downloadExport, ChecksumMismatchError, type DownloadPosition } from '../../src/marketo/bulk/download.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { startRangeServer, gotOpener, type RangeServer } from './support/range-server.js';

const FIELDS = Array.from({ length: 20 }, (_, i) => `field${i}`);

function leadFile(rows: number): { file: Buffer; expected: RecordRow[] } {
  const expected: RecordRow[] = [];
  const lines: (string | null)[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: RecordRow = {};
    for (const [i, f] of FIELDS.entries()) {
      row[f] = i === 3 && r % 7 === 0 ? null : i === 5 ? `Ünïcode "q" ${r},\nline2` : `v${r}_${i}`;
    }
    expected.push(row);
    lines.push(FIELDS.map((f) => row[f] ?? 'null'));
  }
  const file = Buffer.from(stringify([FIELDS, ...lines], { quoted_match: /[",\n]/ }));
  return { file, expected };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('downloadExport', () => {
  const { file, expected } = leadFile(3000);
  let server: RangeServer;
  beforeEach(async () => {
    server = await startRangeServer(file);
  });
  afterEach(() => server.close());

  it('streams, parses and verifies a whole file', async () => {
    const rows: RecordRow[] = [];
    const summary = await downloadExport(
      { open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, expectedChecksum: sha(file) },
      (row) => void rows.push(row),
    );
    expect(rows).toEqual(expected);
    expect(summary).toMatchObject({ rows: 3000, bytes: file.length, checksum: sha(file), checksumVerified: true, reconnects: 0 });
    expect(summary.position).toEqual({ byteOffset: file.length, rows: 3000, columns: FIELDS });
  });

  it('resumes a connection broken half way from the bytes already received', async () => {
    const half = Math.floor(file.length / 2);
    server.breakNextAfter(half);
    const rows: RecordRow[] = [];
    const summary = await downloadExport(
      { open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, expectedChecksum: sha(file) },
      (row) => void rows.push(row),
    );
    expect(summary.reconnects).toBe(1);
    expect(server.ranges).toHaveLength(2);
    expect(server.ranges[0]).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.ranges[1] ?? '')?.[1]);
    // Not from zero: from exactly what arrived before the break (the socket may deliver less than `half`).
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(half);
    expect(rows).toEqual(expected);
    expect(summary.checksum).toBe(sha(file));
  });

  it('restarts after a crash from a heartbeated position without re-delivering rows', async () => {
    let saved: DownloadPosition | undefined;
    const first: RecordRow[] = [];
    await expect(
      downloadExport({ open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length }, (row, position) => {
        if (first.length === 1234) throw new Error('worker crashed');
        first.push(row);
        saved = JSON.parse(JSON.stringify(position)) as DownloadPosition; // as it would travel in a heartbeat
      }),
    ).rejects.toThrow('worker crashed');
    expect(saved?.rows).toBe(1234);

    const rest: RecordRow[] = [];
    const summary = await downloadExport(
      { open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedSize: file.length, expectedChecksum: sha(file), from: saved },
      (row) => void rest.push(row),
    );
    expect([...first, ...rest]).toEqual(expected);
    expect(summary).toMatchObject({ rows: 3000, checksumVerified: true });
    // The tail is fetched from the saved offset; only the checksum re-reads the prefix.
    expect(server.ranges.slice(-2)).toEqual([`bytes=0-${saved!.byteOffset - 1}`, `bytes=${saved!.byteOffset}-`]);
  });

  it('rejects a file whose checksum does not match, after reading it all', async () => {
    await expect(
      downloadExport({ open: gotOpener(server.url), kind: 'leads', format: 'CSV', expectedChecksum: `sha256:${'0'.repeat(64)}` }, () => undefined),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('gives up after too many reconnects without progress', async () => {
    let opens = 0;
    const open = async () => {
      opens += 1;
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    };
    await expect(downloadExport({ open, kind: 'leads', format: 'CSV', maxReconnects: 2 }, () => undefined)).rejects.toThrow('refused');
    expect(opens).toBe(3);
  });
});

describe('downloadExport back-pressure', () => {
  it('keeps what is read ahead of a slow consumer bounded', async () => {
    const { file } = leadFile(16_000); // ~3 MB
    const server = await startRangeServer(file);
    try {
      let read = 0;
      const base = gotOpener(server.url);
      const open = async (start: number, end?: number) => {
        const body = await base(start, end);
        // Counts what the client has actually pulled off the socket.
        return Readable.from((async function* () {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            read += chunk.length;
            yield chunk;
          }
        })());
      };
      let maxAhead = 0;
      const summary = await downloadExport({ open, kind: 'leads', format: 'CSV', expectedSize: file.length }, async (_row, position) => {
        maxAhead = Math.max(maxAhead, read - position.byteOffset);
        if (position.rows % 500 === 0) await new Promise((r) => setTimeout(r, 1));
      });
      expect(summary.rows).toBe(16_000);
      expect(file.length).toBeGreaterThan(3_000_000);
      // Stream buffers (a few 16 KB chunks, 16 parsed rows) — nowhere near the file size.
      expect(maxAhead).toBeLessThan(512 * 1024);
    } finally {
      await server.close();
    }
  });
});
