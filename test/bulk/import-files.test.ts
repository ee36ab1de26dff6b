import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { writeImportFiles, type ImportFile, type ImportRecord } from '../../src/marketo/bulk/import-files.js';

describe('writeImportFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'import-files-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const records = (n: number): ImportRecord[] =>
    Array.from({ length: n }, (_, i) => ({ email: `lead${i}@example.com`, firstName: i % 5 ? `Name, "${i}"` : null, score: i, active: i % 2 === 0 }));

  async function collect(input: Iterable<ImportRecord> | AsyncIterable<ImportRecord>, maxFileBytes: number, format: 'csv' | 'tsv' | 'ssv' = 'csv'): Promise<ImportFile[]> {
    const files: ImportFile[] = [];
    for await (const f of writeImportFiles(input, { columns: ['email', 'firstName', 'score', 'active'], maxFileBytes, dir, format })) files.push(f);
    return files;
  }

  it('splits into files under the byte limit, each with the header, rows in order and accounted for', async () => {
    const input = records(3000);
    const files = await collect(input, 20_000);
    expect(files.length).toBeGreaterThan(5);
    let next = 0;
    const back: Record<string, string>[] = [];
    for (const f of files) {
      expect(statSync(f.path).size).toBe(f.bytes);
      expect(f.bytes).toBeLessThanOrEqual(20_000);
      expect(f.firstRow).toBe(next);
      next += f.rows;
      const rows = parse(readFileSync(f.path), { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(f.rows);
      back.push(...rows);
    }
    expect(next).toBe(3000);
    expect(back[1]).toEqual({ email: 'lead1@example.com', firstName: 'Name, "1"', score: '1', active: 'false' });
    expect(back[0]).toEqual({ email: 'lead0@example.com', firstName: '', score: '0', active: 'true' });
    expect(back.map((r) => r.email)).toEqual(input.map((r) => r.email));
  });

  it('accepts an async source and other delimiters', async () => {
    async function* source() {
      yield* records(10);
    }
    const [file] = await collect(source(), 100_000, 'ssv');
    expect(readFileSync(file!.path, 'utf8').split('\n')[0]).toBe('email;firstName;score;active');
  });

  it('refuses a field outside the columns and a single row over the limit, naming the record', async () => {
    await expect(collect([{ email: 'a@b.c' }, { email: 'x@y.z', bogus: 1 }], 100_000)).rejects.toThrow(/record 1: field "bogus"/);
    await expect(collect([{ email: 'a'.repeat(5000) }], 2048)).rejects.toThrow(/record 0 alone is larger/);
  });
});
