import { BulkImportApi } from '../../src/marketo/bulk/import.js';
import type { ImportRowResult } from '../../src/marketo/bulk/import-results.js';
import { startBulkEmulator, type BulkTestEmulator } from '../bulk/support/emulator.js';

/**
 * Bulk Lead Import with `lookupField=id` (marketo-api.md §11.1, swagger `lookupField`: "You can
 * use id for update only operations"): rows update the lead with that id, never create one.
 */
describe('emulator: bulk lead import by id', () => {
  let t: BulkTestEmulator;
  beforeAll(async () => {
    t = await startBulkEmulator({}, { import: { rowsPerSecond: 0 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('updates the leads named by id; a row whose lead does not exist, or without an id, fails; nothing is created', async () => {
    const sub = t.emulator.subscription;
    const a = sub.createLead({ email: 'a@byid.example', firstName: 'Ann' }, 1, 'Web client', t.emulator.runtime.clock.nowSeconds());
    const b = sub.createLead({ email: 'b@byid.example', firstName: 'Bob' }, 1, 'Web client', t.emulator.runtime.clock.nowSeconds());
    const leadsBefore = sub.leads.count;
    const missing = Math.max(a, b) + 1_000;
    const rows: ImportRowResult[] = [];
    const summary = await new BulkImportApi(t.client).run(
      { kind: 'leads', lookupField: 'id' },
      [
        { id: a, firstName: 'Anna', email: 'anna@byid.example' },
        { id: missing, firstName: 'Nobody' },
        { id: b, firstName: 'Robert' },
        { id: null, firstName: 'No id' },
      ],
      { columns: ['id', 'firstName', 'email'], pollIntervalMs: 20 },
      (r) => void rows.push(r),
    );
    expect(summary.batches.map((x) => x.status)).toEqual(['Complete']);
    expect(summary).toMatchObject({ processed: 2, failed: 2, unmatched: 0 });
    const failures = rows.filter((r) => r.kind === 'failure').map((r) => ({ index: r.inputIndex, reason: r.reason }));
    expect(failures).toEqual([
      { index: 1, reason: 'Lead not found' },
      { index: 3, reason: 'missing.dedupe.fields' },
    ]);
    expect(sub.getLead(a)?.values).toMatchObject({ firstName: 'Anna', email: 'anna@byid.example' });
    expect(sub.getLead(b)?.values).toMatchObject({ firstName: 'Robert', email: 'b@byid.example' });
    expect(sub.leads.count).toBe(leadsBefore);
  });

  it('refuses a lookup field that is not searchable at submit (1011)', async () => {
    await expect(new BulkImportApi(t.client).run({ kind: 'leads', lookupField: 'firstName' }, [{ firstName: 'X' }], { columns: ['firstName'], pollIntervalMs: 20 }, () => undefined)).rejects.toMatchObject({ code: '1011' });
  });
});
