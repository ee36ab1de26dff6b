import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeExportFile, type Cell, type ExportSource } from '../../emulator/bulk/export-file.js';
import type { FileFormat } from '../../emulator/bulk/export-jobs.js';
import { leadExport, programMemberExport } from '../../emulator/bulk/export-sources.js';
import { seedSubscription } from '../../emulator/seed.js';
import { Subscription } from '../../emulator/subscription.js';

// Export files must be byte for byte what the emulator wrote before it wrote rows in chunks: one
// row at a time through csv-stringify's stream with { delimiter, record_delimiter: '\n' }, every
// empty or missing cell spelled `null`. The expected text is made here with csv-stringify/sync,
// independently of the code under test.

const DELIMITER: Record<FileFormat, string> = { CSV: ',', TSV: '\t', SSV: ';' };
const FORMATS: FileFormat[] = ['CSV', 'TSV', 'SSV'];

function expectedText(format: FileFormat, header: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map((v) => (v === null || v === undefined || v === '' ? 'null' : String(v))));
  return stringify([header, ...cells], { delimiter: DELIMITER[format], record_delimiter: '\n' });
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const TRICKY: Cell[] = [
  'plain', 'a,b', 'a;b', 'a\tb', 'say "hi"', '"', '""', 'line\nbreak', 'cr\ronly', 'crlf\r\nend', '\n', ',', ';', '\t',
  '', null, undefined, 0, -1.5, 1e21, 12345678901234, true, false, 'null', ' padded ', 'Müller', "O'Brien", '日本語', 'emoji 🎉', 'é\u0301',
  'trailing,', ',leading', 'mixed "q", and\nnl', '=SUM(A1)', '-5', '+1', '@x', 'x'.repeat(3000),
];

/** Deterministic rows of random pieces of the tricky values (crosses chunk boundaries). */
function fuzzRows(count: number, width: number): Cell[][] {
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pieces = ['a', ',', ';', '\t', '"', '\n', '\r', ' ', 'ü', '🎉', 'null', ''];
  return Array.from({ length: count }, () =>
    Array.from({ length: width }, (): Cell => {
      const r = next();
      if (r < 0.1) return null;
      if (r < 0.15) return Math.floor(next() * 1e6) - 5e5;
      if (r < 0.2) return next() < 0.5;
      const len = Math.floor(next() * 6);
      let s = '';
      for (let i = 0; i < len; i++) s += pieces[Math.floor(next() * pieces.length)]!;
      return s;
    }),
  );
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'export-file-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
const newPath = () => path.join(dir, `f-${++seq}`);
const unpaced = { rowsPerSecond: 0, bytesPerSecond: 0 };

async function writeAndCompare(format: FileFormat, source: { header: string[]; rows: Cell[][] }): Promise<void> {
  const file = newPath();
  const produced = await writeExportFile({ header: source.header, rows: source.rows }, { path: file, format, rate: unpaced, signal: new AbortController().signal });
  const bytes = readFileSync(file);
  const expected = expectedText(format, source.header, source.rows);
  expect(bytes.toString('utf8')).toBe(expected);
  expect(produced).toEqual({ path: file, numberOfRecords: source.rows.length, fileSize: Buffer.byteLength(expected), sha256: sha256(expected) });
  expect(produced.sha256).toBe(sha256(bytes));
}

describe('writeExportFile: the bytes csv-stringify writes', () => {
  it.each(FORMATS)('%s: every tricky value alone, all together in one row, and a header that needs quoting', async (format) => {
    const header = ['id', 'a,b', 'c;d', 'e\tf', 'say "x"', '', 'Ünï'];
    const rows: Cell[][] = [...TRICKY.map((v) => [1, v, v, v, v, v, v]), TRICKY];
    await writeAndCompare(format, { header, rows });
  });

  it.each(FORMATS)('%s: 2,500 fuzzed rows across chunk boundaries', async (format) => {
    await writeAndCompare(format, { header: ['c1', 'c2', 'c3', 'c4', 'c5'], rows: fuzzRows(2500, 5) });
  });

  it('an export without rows is its header line only', async () => {
    await writeAndCompare('CSV', { header: ['id', 'email'], rows: [] });
  });

  it('a row of one empty cell is the null literal', async () => {
    await writeAndCompare('CSV', { header: ['x'], rows: [[''], [null], ['a']] });
  });
});

/** A clock that only moves when the writer sleeps: the requested waits are exactly the pacing. */
function fakeTime() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

const rowsOf = (n: number): Cell[][] => Array.from({ length: n }, (_, i) => [i + 1, `lead${i + 1}@example.com`, i % 3 ? 'x' : null]);

describe('writeExportFile: pacing per chunk', () => {
  it('a job of N rows at R rows/s waits N/R seconds in all, in waits of about 200 ms', async () => {
    const time = fakeTime();
    const produced = await writeExportFile({ header: ['id', 'email', 'x'], rows: rowsOf(2500) }, {
      path: newPath(), format: 'CSV', rate: { rowsPerSecond: 1000, bytesPerSecond: 0 }, signal: new AbortController().signal, sleep: time.sleep, now: time.now,
    });
    expect(produced.numberOfRecords).toBe(2500);
    // 200 rows per chunk (200 ms at 1,000 rows/s): 12 full chunks and a last one of 100 rows.
    expect(time.sleeps).toEqual([...Array(12).fill(200), 100]);
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(2500);
  });

  it('fast rates write at most 1,000 rows between waits and still take N/R', async () => {
    const time = fakeTime();
    await writeExportFile({ header: ['id', 'email', 'x'], rows: rowsOf(4500) }, {
      path: newPath(), format: 'CSV', rate: { rowsPerSecond: 50_000, bytesPerSecond: 0 }, signal: new AbortController().signal, sleep: time.sleep, now: time.now,
    });
    expect(time.sleeps).toEqual([20, 20, 20, 20, 10]);
  });

  it('byte pacing: the waits add up to the file size over the byte rate', async () => {
    const time = fakeTime();
    const produced = await writeExportFile({ header: ['id', 'email', 'x'], rows: rowsOf(3000) }, {
      path: newPath(), format: 'CSV', rate: { rowsPerSecond: 0, bytesPerSecond: 20_000 }, signal: new AbortController().signal, sleep: time.sleep, now: time.now,
    });
    const total = time.sleeps.reduce((a, b) => a + b, 0);
    // All of it but a last wait under 10 ms, which is skipped.
    const due = (produced.fileSize / 20_000) * 1000;
    expect(total).toBeGreaterThan(due - 10);
    expect(total).toBeLessThanOrEqual(due + 1e-6);
    // After the first chunk, chunks shrink to about 200 ms of bytes each.
    expect(time.sleeps.length).toBeGreaterThan(10);
    expect(Math.max(...time.sleeps.slice(1))).toBeLessThan(260);
  });

  it('waits shorter than 10 ms are skipped and caught up later; unpaced exports never wait', async () => {
    const slow = fakeTime();
    // 40 rows/s: 8 rows per chunk (200 ms); the clock moves 197 ms per chunk outside the sleeps,
    // so each chunk falls 3 ms further ahead: waits of 3, 6, 9 ms are skipped, the 4th (12) is made.
    let t = 0;
    const sleeps: number[] = [];
    await writeExportFile({ header: ['id', 'email', 'x'], rows: rowsOf(40) }, {
      path: newPath(), format: 'CSV', rate: { rowsPerSecond: 40, bytesPerSecond: 0 }, signal: new AbortController().signal,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
      now: () => (t += 197),
    });
    expect(sleeps).toEqual([12]);
    await writeExportFile({ header: ['id'], rows: rowsOf(3000) }, { path: newPath(), format: 'CSV', rate: unpaced, signal: new AbortController().signal, sleep: slow.sleep, now: slow.now });
    expect(slow.sleeps).toEqual([]);
  });
});

describe('writeExportFile: cancel', () => {
  it('aborting while rows are produced fails the write and leaves no file', async () => {
    const abort = new AbortController();
    const file = newPath();
    function* rows(): Generator<Cell[]> {
      for (let i = 1; i <= 5000; i++) {
        if (i === 1500) abort.abort();
        yield [i];
      }
    }
    await expect(writeExportFile({ header: ['id'], rows: rows() }, { path: file, format: 'CSV', rate: unpaced, signal: abort.signal })).rejects.toThrow();
    expect(existsSync(file)).toBe(false);
  });

  it('aborting during a pacing wait stops at once and leaves no file (default timer)', async () => {
    const abort = new AbortController();
    const file = newPath();
    let produced = 0;
    const source: ExportSource = {
      header: ['id'],
      rows: (function* () {
        for (let i = 1; i <= 100; i++) {
          produced++;
          yield [i];
        }
      })(),
    };
    // 10 rows/s: 2 rows, then a 200 ms timer that the abort cancels (jest's limit would catch a hang of 10 s).
    const writing = writeExportFile(source, { path: file, format: 'CSV', rate: { rowsPerSecond: 10, bytesPerSecond: 0 }, signal: abort.signal });
    await new Promise((resolve) => setImmediate(resolve));
    while (produced < 2) await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    await expect(writing).rejects.toThrow(/abort/i);
    expect(produced).toBe(2);
    expect(existsSync(file)).toBe(false);
  });

  it('an injected sleep that ignores the signal still stops before the next chunk', async () => {
    const abort = new AbortController();
    const file = newPath();
    let waits = 0;
    await expect(
      writeExportFile({ header: ['id'], rows: rowsOf(1000) }, {
        path: file, format: 'CSV', rate: { rowsPerSecond: 1000, bytesPerSecond: 0 }, signal: abort.signal,
        now: () => 0,
        sleep: async () => {
          waits++;
          abort.abort();
        },
      }),
    ).rejects.toThrow();
    expect(waits).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('an already aborted signal writes nothing', async () => {
    const file = newPath();
    await expect(writeExportFile({ header: ['id'], rows: rowsOf(3) }, { path: file, format: 'CSV', rate: unpaced, signal: AbortSignal.abort() })).rejects.toThrow();
    expect(existsSync(file)).toBe(false);
  });
});

describe('lead export rows', () => {
  const FIELDS = ['id', 'email', 'firstName', 'createdAt', 'updatedAt', 'leadPartitionId', 'externalCompanyId', 'company', 'industry', 'annualRevenue', 'website', 'title', 'doNotCall', 'leadScore', 'department'];
  let sub: Subscription;
  beforeAll(() => {
    sub = new Subscription();
    seedSubscription(sub, { leads: 300, companies: 20, programs: 0, lists: 1, membershipRate: 0.3, from: '2024-03-01T00:00:00Z', to: '2024-03-20T00:00:00Z' });
    // Values that need quoting, stored and shown through a linked company (both sides of leadValue).
    sub.leads.setValue(100, 'title', 'VP, "Growth"\nEMEA');
    sub.leads.setValue(101, 'doNotCall', true);
    sub.leads.setValue(101, 'firstName', '');
    sub.leads.setValue(102, 'externalCompanyId', 'NO-SUCH-COMPANY');
    sub.leads.setValue(102, 'company', 'Own; Company');
    sub.leads.delete(103);
  });

  /** The file as the emulator wrote it before: each cell from leadValue. */
  function expectedFor(ids: number[], format: FileFormat): string {
    return expectedText(format, FIELDS, ids.map((id) => FIELDS.map((f) => sub.leadValue(id, f))));
  }

  it.each(FORMATS)('%s: a createdAt window gives leadValue of every field of every live lead in it', async (format) => {
    const window = { startAt: '2024-03-03T00:00:00Z', endAt: '2024-03-12T23:59:59Z' };
    const spec = leadExport(sub, { fields: FIELDS, format, filter: { createdAt: window } }, { updatedAtFilter: true, smartListFilters: false });
    const file = newPath();
    const produced = await writeExportFile(spec.source(), { path: file, format, rate: unpaced, signal: new AbortController().signal });
    const ids = [...sub.leads.ids()].filter((id) => sub.leads.createdAt(id) >= Date.parse(window.startAt) / 1000 && sub.leads.createdAt(id) <= Date.parse(window.endAt) / 1000);
    expect(ids.length).toBeGreaterThan(50);
    expect(ids).toEqual(expect.arrayContaining([100, 101, 102]));
    expect(ids).not.toContain(103);
    expect(readFileSync(file, 'utf8')).toBe(expectedFor(ids, format));
    expect(produced.numberOfRecords).toBe(ids.length);
  });

  it('a static list gives its live members in id order', async () => {
    const list = [...sub.lists.values()][0]!;
    list.members.add(103);
    const spec = leadExport(sub, { fields: FIELDS, filter: { staticListId: list.id } }, { updatedAtFilter: true, smartListFilters: false });
    const file = newPath();
    await writeExportFile(spec.source(), { path: file, format: 'CSV', rate: unpaced, signal: new AbortController().signal });
    const ids = [...list.members].filter((id) => sub.leads.exists(id)).sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThan(10);
    expect(readFileSync(file, 'utf8')).toBe(expectedFor(ids, 'CSV'));
  });

  it('a row reader made before a field was first stored, or before the columns were compacted, sees the new values', () => {
    sub.addLeadField({ name: 'exportTier', displayName: 'Export Tier', dataType: 'string', length: 255, updateable: true, crmManaged: false, hidden: false });
    const read = sub.leadRowReader(['id', 'exportTier', 'email']);
    expect(read(1)).toEqual([1, null, sub.leadValue(1, 'email')]);
    sub.updateLead(1, { exportTier: 'Gold' });
    expect(read(1)).toEqual([1, 'Gold', sub.leadValue(1, 'email')]);
    sub.leads.compact();
    sub.updateLead(1, { email: 'changed@example.com' });
    expect(read(1)).toEqual([1, 'Gold', 'changed@example.com']);
    for (const id of [2, 3, 100, 101, 102, 300, 301]) expect(sub.leadRowReader(FIELDS)(id)).toEqual(FIELDS.map((f) => sub.leadValue(id, f)));
  });

  it('a row reader follows companies created, updated and deleted after it first looked', () => {
    const read = sub.leadRowReader(['id', 'externalCompanyId', 'company', 'industry']);
    const lead = 102; // names NO-SUCH-COMPANY and stores its own company value
    const linked = [...sub.leads.ids()].find((id) => id !== lead && sub.companyValuesForLead(id) !== undefined)!;
    const ext = String(sub.leadValue(linked, 'externalCompanyId'));
    const current = () => [lead, linked].map((id) => ['id', 'externalCompanyId', 'company', 'industry'].map((f) => sub.leadValue(id, f)));
    expect([read(lead), read(linked)]).toEqual(current());
    expect(read(lead)[2]).toBe('Own; Company');

    expect(sub.syncObjects('Company', [{ externalCompanyId: 'NO-SUCH-COMPANY', company: 'Now Real Inc', industry: 'Retail' }])[0]!.status).toBe('created');
    expect(read(lead)).toEqual([lead, 'NO-SUCH-COMPANY', 'Now Real Inc', 'Retail']);
    expect(sub.syncObjects('Company', [{ externalCompanyId: ext, industry: 'Changed Industry' }])[0]!.status).toBe('updated');
    expect(read(linked)[3]).toBe('Changed Industry');
    expect(sub.deleteObjects('Company', [{ externalCompanyId: 'NO-SUCH-COMPANY' }])[0]!.status).toBe('deleted');
    expect(read(lead)[2]).toBe('Own; Company');
    expect([read(lead), read(linked)]).toEqual(current());
  });
});

describe('program member export rows', () => {
  it('member columns and lead columns (company ones too) as leadValue shows them, several programs with the leading programId', async () => {
    const sub = new Subscription();
    seedSubscription(sub, { leads: 200, companies: 10, programs: 2, lists: 0, membershipRate: 0.3 });
    const programs = [...sub.programs.values()];
    const fields = ['leadId', 'email', 'progressionStatus', 'updatedAt', 'company', 'reachedSuccess', 'membershipDate', 'leadScore'];
    const spec = programMemberExport(sub, { fields, format: 'SSV', filter: { programIds: programs.map((p) => p.id) } });
    const file = newPath();
    await writeExportFile(spec.source(), { path: file, format: 'SSV', rate: unpaced, signal: new AbortController().signal });
    const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19) + 'Z';
    const rows = programs.flatMap((p) =>
      [...p.members].map(([leadId, m]) => [p.id, leadId, sub.leadValue(leadId, 'email'), m.progressionStatus, iso(m.updatedAt), sub.leadValue(leadId, 'company'), m.reachedSuccess, iso(m.membershipDate), sub.leadValue(leadId, 'leadScore')]),
    );
    expect(rows.length).toBeGreaterThan(20);
    expect(readFileSync(file, 'utf8')).toBe(expectedText('SSV', ['programId', ...fields], rows));
  });
});
