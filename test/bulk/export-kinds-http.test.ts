import { BulkExtractApi } from '../../src/marketo/bulk/extract.js';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { z } from 'zod';
import { startBulkEmulator, type BulkTestEmulator } from './support/emulator.js';

const fast = { pollIntervalMs: 20 };

describe('program member and custom object extracts, program member import, over HTTP', () => {
  let t: BulkTestEmulator;
  let api: BulkExtractApi;
  beforeAll(async () => {
    t = await startBulkEmulator({ seed: { leads: 300, customObjects: 40, programs: 2, lists: 2, membershipRate: 0.2, from: '2024-01-02T00:00:00Z', to: '2024-01-25T00:00:00Z' } }, { export: { rowsPerSecond: 0 }, import: { rowsPerSecond: 0 } });
    api = new BulkExtractApi(t.client);
  });
  afterAll(() => t.close());

  it('exports the members of a program with lead fields', async () => {
    const program = [...t.emulator.subscription.programs.values()][0]!;
    const rows: RecordRow[] = [];
    const summary = await api.run({ kind: 'programMembers' }, { fields: ['leadId', 'progressionStatus', 'email'], filter: { programId: program.id } }, fast, (r) => void rows.push(r));
    expect(summary.rows).toBe(program.members.size);
    expect(program.members.size).toBeGreaterThan(0);
    const [leadId, membership] = [...program.members.entries()][0]!;
    expect(rows[0]).toEqual({ leadId: String(leadId), progressionStatus: membership.progressionStatus, email: String(t.emulator.subscription.leadValue(leadId, 'email')) });
  });

  it('adds the leading programId column for several programs', async () => {
    const ids = [...t.emulator.subscription.programs.keys()];
    const rows: RecordRow[] = [];
    await api.run({ kind: 'programMembers' }, { fields: ['leadId'], filter: { programIds: ids } }, fast, (r) => void rows.push(r));
    expect(Object.keys(rows[0]!)).toEqual(['programId', 'leadId']);
  });

  it('exports custom object records by updatedAt and by the static list of their leads', async () => {
    const sub = t.emulator.subscription;
    const all = [...sub.iterateObjects('purchase_c')];
    const rows: RecordRow[] = [];
    const window = { startAt: '2024-01-01T00:00:00Z', endAt: '2024-01-31T23:59:59Z' };
    const inWindow = all.filter((o) => o.updatedAt >= Date.parse(window.startAt) / 1000 && o.updatedAt <= Date.parse(window.endAt) / 1000);
    await api.run({ kind: 'customObjects', apiName: 'purchase_c' }, { fields: ['marketoGUID', 'purchaseId', 'leadId'], filter: { updatedAt: window } }, fast, (r) => void rows.push(r));
    expect(rows.map((r) => r.marketoGUID).sort()).toEqual(inWindow.map((o) => o.marketoGUID).sort());

    const list = [...sub.lists.values()][0]!;
    const linked = all.filter((o) => list.members.has(Number(o.values.leadId)));
    const byList: RecordRow[] = [];
    await api.run({ kind: 'customObjects', apiName: 'purchase_c' }, { fields: ['purchaseId'], filter: { staticListId: list.id } }, fast, (r) => void byList.push(r));
    expect(byList.map((r) => r.purchaseId).sort()).toEqual(linked.map((o) => String(o.values.purchaseId)).sort());
  });

  it('imports program members with a status, reporting rejected rows', async () => {
    const sub = t.emulator.subscription;
    const program = [...sub.programs.values()][1]!;
    const status = program.statuses[1]!;
    const form = new FormData();
    form.append('file', new Blob(['email,firstName\npm.new@example.com,New\nnot-an-email,Bad\n'], { type: 'text/csv' }), 'members.csv');
    const created = await t.client.request(
      { method: 'POST', path: `/bulk/v1/program/${program.id}/members/import.json`, query: { format: 'csv', programMemberStatus: status }, body: { kind: 'multipart', value: form } },
      z.looseObject({ batchId: z.number(), status: z.string() }),
    );
    const batchId = created.result![0]!.batchId;
    expect(created.result![0]!.status).toBe('Queued');
    let body: { status?: string; numOfLeadsProcessed?: number; numOfRowsFailed?: number } = {};
    for (let i = 0; i < 100 && body.status !== 'Complete'; i++) {
      const res = await t.client.request({ method: 'GET', path: `/bulk/v1/program/members/import/${batchId}/status.json` }, z.looseObject({ status: z.string() }));
      body = res.result![0] as typeof body;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(body).toMatchObject({ status: 'Complete', numOfLeadsProcessed: 1, numOfRowsFailed: 1 });
    const id = sub.findLeads('email', ['pm.new@example.com'])[0]!;
    expect(program.members.get(id)?.progressionStatus).toBe(status);
  });
});
