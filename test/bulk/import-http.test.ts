import { BulkImportApi } from '../../src/marketo/bulk/import.js';
import type { ImportRecord } from '../../src/marketo/bulk/import-files.js';
import type { ImportRowResult } from '../../src/marketo/bulk/import-results.js';
import { MarketoApiError } from '../../src/marketo/index.js';
import { configureBulk } from '../../emulator/bulk/service.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBulkEmulator, type BulkTestEmulator } from './support/emulator.js';

const fast = { pollIntervalMs: 20, queueFullRetryMs: 20 };

function leads(n: number): ImportRecord[] {
  return Array.from({ length: n }, (_, i) => {
    // Every 97th row has an invalid email, every 89th none at all, every 101st repeats the previous email.
    const email = i % 97 === 5 ? `not-an-email-${i}` : i % 89 === 7 ? null : i % 101 === 9 ? `import${i - 1}@example.com` : `import${i}@example.com`;
    return { email, firstName: `First${i}`, lastName: `Last, ${i}`, leadScore: i % 100 };
  });
}

describe('bulk lead import over HTTP', () => {
  let t: BulkTestEmulator;
  let api: BulkImportApi;
  let dir: string;
  beforeEach(async () => {
    t = await startBulkEmulator({}, { import: { rowsPerSecond: 0 } });
    api = new BulkImportApi(t.client);
    dir = mkdtempSync(join(tmpdir(), 'bulk-import-test-'));
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports records split into several files and maps the failures file back to input rows', async () => {
    const input = leads(1500);
    const results: ImportRowResult[] = [];
    const summary = await api.run({ kind: 'leads', lookupField: 'email' }, input, { columns: ['email', 'firstName', 'lastName', 'leadScore'], maxFileBytes: 16_384, ...fast }, (r) => void results.push(r));

    const badEmail = input.flatMap((r, i) => (typeof r.email === 'string' && r.email.startsWith('not-an-email') ? [i] : []));
    const noEmail = input.flatMap((r, i) => (r.email === null ? [i] : []));
    const repeated = input.flatMap((r, i) => (i % 101 === 9 && i % 97 !== 5 && i % 89 !== 7 ? [i] : []));
    expect(summary.files).toBeGreaterThan(3);
    expect(summary.rows).toBe(1500);
    expect(summary.unmatched).toBe(0);

    const failures = results.filter((r) => r.kind === 'failure');
    expect(failures.map((f) => f.inputIndex).sort((a, b) => a - b)).toEqual([...badEmail, ...noEmail].sort((a, b) => a - b));
    for (const f of failures) {
      expect(f.row.email).toBe(input[f.inputIndex]!.email ?? '');
      expect(f.row.firstName).toBe(`First${f.inputIndex}`);
      expect(f.reason).toBe(input[f.inputIndex]!.email === null ? 'missing.dedupe.fields' : "Invalid value for field 'email'");
    }
    const warnings = results.filter((r) => r.kind === 'warning');
    expect(warnings.map((w) => w.inputIndex)).toEqual(repeated.filter((i) => !failures.some((f) => f.inputIndex === i - 1)));
    expect(summary.failed).toBe(failures.length);
    expect(summary.processed).toBe(1500 - failures.length);
    expect(summary.batches.every((b) => b.status === 'Complete')).toBe(true);
    expect(summary.batches.find((b) => b.failed > 0)?.message).toMatch(/^Import completed with errors, \d+ records imported \(\d+ members\), \d+ failed/);

    // The good rows are leads now (repeats updated the same lead).
    const sub = t.emulator.subscription;
    expect(sub.findLeads('email', ['import0@example.com'])).toHaveLength(1);
    expect(sub.leads.count).toBe(1500 - failures.length - warnings.length);
    const id = sub.findLeads('email', ['import42@example.com'])[0]!;
    expect(sub.leadValue(id, 'lastName')).toBe('Last, 42');
    expect(sub.leadValue(id, 'leadScore')).toBe(42);
  });

  it('answers HTTP 413 to a file over the limit', async () => {
    await configureBulk(t.emulator.subscription, { import: { rowsPerSecond: 0, maxFileBytes: 4096 } });
    const path = join(dir, 'big.csv');
    writeFileSync(path, 'email\n' + Array.from({ length: 400 }, (_, i) => `big${i}@example.com`).join('\n'));
    const error = await api.submit({ kind: 'leads' }, path, 'csv').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketoApiError);
    expect(error).toMatchObject({ code: 'HTTP_413', httpStatus: 413 });
    expect((error as MarketoApiError).classification.action).toBe('give-up');
  });

  it('answers 1016 Too many imports when the import queue is full', async () => {
    await configureBulk(t.emulator.subscription, { import: { rowsPerSecond: 1, maxQueued: 2 } });
    const path = join(dir, 'one.csv');
    writeFileSync(path, 'email\n' + Array.from({ length: 50 }, (_, i) => `q${i}@example.com`).join('\n'));
    expect((await api.submit({ kind: 'leads' }, path, 'csv')).status).toBe('Queued');
    await api.submit({ kind: 'leads' }, path, 'csv');
    const error = (await api.submit({ kind: 'leads' }, path, 'csv').catch((e: unknown) => e)) as MarketoApiError;
    expect(error).toMatchObject({ code: '1016', marketoMessage: 'Too many imports' });
    expect(error.classification.action).toBe('retry-after');
    const status = await api.status({ kind: 'leads' }, 1001);
    expect(status.status).toBe('Importing');
  });

  it('reports every row of a batch that failed as a whole', async () => {
    await configureBulk(t.emulator.subscription, { import: { rowsPerSecond: 0 }, faults: { failImports: 1 } });
    const results: ImportRowResult[] = [];
    const summary = await api.run({ kind: 'leads' }, leads(20), { columns: ['email', 'firstName', 'lastName', 'leadScore'], ...fast }, (r) => void results.push(r));
    expect(summary.batches[0]).toMatchObject({ status: 'Failed', message: expect.stringContaining('failed') });
    expect(results.map((r) => r.inputIndex)).toEqual([...Array(20).keys()]);
    expect(summary.failed).toBe(20);
  });

  it('validates the upload parameters', async () => {
    const path = join(dir, 'one.csv');
    writeFileSync(path, 'email\na@b.co\n');
    await expect(api.submit({ kind: 'leads', lookupField: 'firstName' }, path, 'csv')).rejects.toMatchObject({ code: '1011' });
    await expect(api.submit({ kind: 'leads', listId: 999_999 }, path, 'csv')).rejects.toMatchObject({ code: '1013' });
  });
});

describe('bulk custom object import over HTTP', () => {
  it('imports purchase_c records and maps failures back', async () => {
    const t = await startBulkEmulator({ seed: { leads: 20, customObjects: 5 } }, { import: { rowsPerSecond: 0 } });
    try {
      const api = new BulkImportApi(t.client);
      const records: ImportRecord[] = [
        { purchaseId: 'p-new-1', leadId: 1, product: 'Widget', amount: 10.5 },
        { purchaseId: 'p-new-2', leadId: 1, product: 'Gadget', amount: 'lots' },
        { purchaseId: 'p-new-3', leadId: 2, product: 'Gizmo', amount: 3 },
      ];
      const results: ImportRowResult[] = [];
      const summary = await api.run({ kind: 'customObjects', apiName: 'purchase_c' }, records, { columns: ['purchaseId', 'leadId', 'product', 'amount'], ...fast }, (r) => void results.push(r));
      expect(summary).toMatchObject({ processed: 2, failed: 1 });
      expect(results).toEqual([{ kind: 'failure', inputIndex: 1, fileIndex: 0, row: { purchaseId: 'p-new-2', leadId: '1', product: 'Gadget', amount: 'lots' }, reason: expect.stringContaining('amount') }]);
      expect([...t.emulator.subscription.iterateObjects('purchase_c')].some((o) => o.values.purchaseId === 'p-new-3')).toBe(true);
    } finally {
      await t.close();
    }
  });
});
