import { startPushHarness, callsBetween, type PushHarness } from './support.js';
import { upsertStream } from '../../src/sync/push/index.js';
import { loadPushContext } from '../../src/sync/push/context.js';
import { MarketoSchemas } from '../../src/mapping/marketo-schema.js';
import { suggestMapping } from '../../src/mapping/suggest.js';
import { validateMapping } from '../../src/mapping/validate.js';

/** Seed step 14: CRM custom object records → Marketo custom objects (the emulator's `purchase_c`). */
describe('push: create and update custom objects', () => {
  let h: PushHarness;
  let contact: string;
  let marketoLeadId: number;
  const endpoint = 'POST /rest/v1/customobjects/:customObjectName.json';

  beforeAll(async () => {
    h = await startPushHarness();
    // The type the emulator's seed defines, linked to leads by Marketo lead id.
    h.emulator.subscription.addCustomObjectType({
      name: 'purchase_c', displayName: 'Purchase', description: 'Purchases', dedupeFields: ['purchaseId'],
      fields: [
        { name: 'purchaseId', displayName: 'Purchase Id', dataType: 'string', length: 50 },
        { name: 'leadId', displayName: 'Lead Id', dataType: 'integer' },
        { name: 'product', displayName: 'Product', dataType: 'string', length: 255 },
        { name: 'amount', displayName: 'Amount', dataType: 'currency' },
        { name: 'purchaseDate', displayName: 'Purchase Date', dataType: 'datetime' },
      ],
      leadLink: { field: 'leadId', leadField: 'id' },
    });
    await h.crm.provisionCustomObject({
      name: 'purchase',
      fields: [
        { name: 'purchase_id', type: 'string', length: 50 },
        { name: 'product', type: 'string' },
        { name: 'amount', type: 'currency' },
        { name: 'purchase_date', type: 'datetime' },
      ],
      dedupeFields: ['purchase_id'],
      links: ['lead', 'contact'],
    });
    const { context } = await loadPushContext({ marketo: h.marketo, store: h.store, crm: h.crm });
    const schemas = MarketoSchemas.parse({ ...context.schemas, customObjects: { purchase_c: JSON.parse(JSON.stringify(await h.marketo.describe.customObject('purchase_c'))) as unknown } });
    const mapping = suggestMapping(schemas, context.describe, { customObjects: { purchase_c: 'custom:purchase' } });
    expect(validateMapping(mapping, schemas, context.describe).errors).toEqual([]);
    expect(mapping.entities.find((e) => e.crm === 'custom:purchase')?.fields).toEqual(expect.arrayContaining([
      expect.objectContaining({ marketo: 'purchaseId', crm: 'purchase_id' }),
      expect.objectContaining({ marketo: 'purchaseDate', crm: 'purchase_date' }),
    ]));
    await h.store.mappings.save(mapping);
    [contact] = (await h.user.insert('contact', [{ email: 'buyer@shop.example' }])) as [string];
    await h.activities.pushLeads();
    marketoLeadId = Number((await h.store.idMap.byCrmIds('lead', 'contact', [contact])).get(contact)!.marketoId);
  });
  afterAll(async () => {
    await h.close();
  });

  const purchases = async (ids: string[]) =>
    new Map((await h.marketo.customObject('purchase_c').get({ filterType: 'purchaseId', filterValues: ids, fields: ['marketoGUID', 'purchaseId', 'leadId', 'product', 'amount', 'purchaseDate'] })).items.map((p) => [String(p.purchaseId), p]));

  it('creates and updates by the dedupe field, links the lead, ledgers a record whose person Marketo lacks', async () => {
    // A contact the sync itself wrote (not pushed): Marketo has no lead for it yet.
    const [stranger] = await h.crm.upsert('contact', [{ email: 'stranger@shop.example' }], { keyField: 'id' });
    const strangerId = stranger?.status === 'created' ? stranger.id : '';
    const [p1, , orphan] = await h.user.insert('custom:purchase', [
      { purchase_id: 'PUR-1', product: 'Pro', amount: '99.50', purchase_date: '2026-11-01T10:00:00Z', contact_id: contact },
      { purchase_id: 'PUR-2', product: 'Starter', amount: '10.00', contact_id: contact },
      { purchase_id: 'PUR-3', product: 'Pro', contact_id: strangerId },
    ]);
    const before = h.calls();
    expect(await h.activities.pushCustomObjects()).toMatchObject({ read: 3, written: 2, skipped: 1, calls: 1, hasMore: false });
    expect(callsBetween(before, h.calls())).toEqual({ [endpoint]: 1 });
    const got = await purchases(['PUR-1', 'PUR-2', 'PUR-3']);
    expect(got.get('PUR-1')).toMatchObject({ leadId: marketoLeadId, product: 'Pro', amount: 99.5, purchaseDate: '2026-11-01T10:00:00Z' });
    expect(got.get('PUR-2')).toMatchObject({ leadId: marketoLeadId, product: 'Starter' });
    expect(got.has('PUR-3')).toBe(false);
    const ledger = await h.store.errors.list({ entity: 'custom:purchase', status: 'open' });
    expect(ledger.map((e) => [e.recordKey, e.code])).toEqual([[orphan, 'MAPPING']]);
    const guid = got.get('PUR-1')!.marketoGUID;
    expect((await h.store.idMap.byCrmIds('customObject:purchase_c', 'custom:purchase', [p1!])).get(p1!)?.marketoId).toBe(guid);

    await h.user.update('custom:purchase', [{ id: p1!, product: 'Enterprise' }]);
    expect(await h.activities.pushCustomObjects()).toMatchObject({ read: 1, written: 1, calls: 1 });
    expect((await purchases(['PUR-1'])).get('PUR-1')).toMatchObject({ marketoGUID: guid, product: 'Enterprise' });
  });

  it('costs no call when idle', async () => {
    const before = h.calls();
    expect(await h.activities.pushCustomObjects()).toMatchObject({ read: 0, written: 0, calls: 0, hasMore: false });
    expect(callsBetween(before, h.calls())).toEqual({});
  });

  it('writes 300 records a call and moves the position only after the writes', async () => {
    const records = Array.from({ length: 301 }, (_, i) => ({ purchase_id: `BULK-${i}`, product: 'Add-on', contact_id: contact }));
    await h.user.insert('custom:purchase', records);
    const position = await h.store.watermarks.get(upsertStream('custom:purchase'));
    const fault = h.emulator.runtime.faults.add({ path: '/rest/v1/customobjects/purchase_c.json', method: 'POST', httpStatus: 503, count: 1 });
    await expect(h.activities.pushCustomObjects()).rejects.toThrow();
    h.emulator.runtime.faults.remove(fault.id!);
    expect((await h.store.watermarks.get(upsertStream('custom:purchase')))?.cursor).toBe(position?.cursor);

    const before = h.calls();
    expect(await h.activities.pushCustomObjects()).toMatchObject({ read: 301, written: 301, calls: 2 });
    expect(callsBetween(before, h.calls())).toEqual({ [endpoint]: 2 });
    expect((await purchases(['BULK-0', 'BULK-300'])).size).toBe(2);
    expect((await h.store.watermarks.get(upsertStream('custom:purchase')))?.cursor).not.toBe(position?.cursor);
  });
});
