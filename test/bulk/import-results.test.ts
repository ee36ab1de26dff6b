import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { mapReasonFile, type ImportRowResult } from '../../src/marketo/bulk/import-results.js';
import type { ImportFile } from '../../src/marketo/bulk/import-files.js';

describe('mapReasonFile', () => {
  let dir: string;
  let file: ImportFile;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reason-map-'));
    const path = join(dir, 'leads-1.csv');
    writeFileSync(path, 'email,firstName\na@x.io,A\nb@x.io,"B, b"\nc@x.io,C\nb@x.io,"B, b"\nd@x.io,D\n');
    file = { index: 1, path, firstRow: 100, rows: 5, bytes: 0 };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function map(reasons: string): Promise<{ results: ImportRowResult[]; matched: number; unmatched: number }> {
    const results: ImportRowResult[] = [];
    const counts = await mapReasonFile(file, Readable.from([Buffer.from(reasons)]), { format: 'csv', kind: 'failure' }, (r) => void results.push(r));
    return { results, ...counts };
  }

  it('maps rows in input order, identical rows to successive occurrences', async () => {
    const { results, matched } = await map('email,firstName,Import Failure Reason\n"b@x.io","B, b",bad\nb@x.io,"B, b",worse\nd@x.io,D,"Invalid email address"\n');
    expect(matched).toBe(3);
    expect(results.map((r) => [r.inputIndex, r.reason])).toEqual([[101, 'bad'], [103, 'worse'], [104, 'Invalid email address']]);
    expect(results[0]).toMatchObject({ fileIndex: 1, row: { email: 'b@x.io', firstName: 'B, b' } });
  });

  it('still maps a reason file that is out of order, and reports what matches nothing', async () => {
    const { results, unmatched } = await map('email,firstName,Import Failure Reason\nd@x.io,D,r1\na@x.io,A,r2\nzz@x.io,Z,r3\nc@x.io,C,r4\n');
    expect(results.map((r) => r.inputIndex)).toEqual([104, 100, -1, 102]);
    expect(unmatched).toBe(1);
    expect(results[2]).toMatchObject({ row: { email: 'zz@x.io', firstName: 'Z' }, reason: 'r3' });
  });
});
