import pg from 'pg';
import type { Change, CrmConnector } from '../../src/crm/connector.js';
import { PostgresCrmConnector } from '../../src/crm/postgres/postgres-connector.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
let sync: PostgresCrmConnector;
let user: PostgresCrmConnector;
let other: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('crm');
  sync = await PostgresCrmConnector.open({ connectionString: db.url });
  user = await PostgresCrmConnector.open({ connectionString: db.url, writeOrigin: 'user' });
  other = new pg.Client({ connectionString: db.url });
  await other.connect();
});

afterAll(async () => {
  await other.end();
  await user.close();
  await sync.close();
  await db.drop();
});

async function readAll(connector: CrmConnector, entity: Parameters<CrmConnector['readChanges']>[0], cursor?: string, limit = 1000): Promise<{ changes: Change[]; cursor: string }> {
  const changes: Change[] = [];
  for (;;) {
    const page = await connector.readChanges(entity, { cursor, limit });
    changes.push(...page.changes);
    cursor = page.cursor;
    if (!page.hasMore) return { changes, cursor };
  }
}

describe('change capture', () => {
  test('sees writes made by another connection, in (time, id) order, resumable by cursor, without the sync echo', async () => {
    const start = await readAll(sync, 'account');
    await other.query(`INSERT INTO crm.accounts (name) VALUES ('Acme'), ('Globex'), ('Initech')`);
    const results = await sync.upsert('account', [{ name: 'Written by sync' }], { keyField: 'id' });
    expect(results[0]).toMatchObject({ status: 'created' });
    await other.query(`UPDATE crm.accounts SET industry = 'Tools' WHERE name = 'Acme'`);

    const page1 = await sync.readChanges('account', { cursor: start.cursor, limit: 2 });
    expect(page1.hasMore).toBe(true);
    const rest = await readAll(sync, 'account', page1.cursor, 2);
    const all = [...page1.changes, ...rest.changes];
    const names = all.map((c) => (c.kind === 'upsert' ? c.record.name : c.id));
    expect(names).toEqual(['Globex', 'Initech', 'Acme']);
    const acme = all.find((c) => c.kind === 'upsert' && c.record.name === 'Acme');
    expect(acme?.kind === 'upsert' && acme.record.industry).toBe('Tools');
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1]!;
      const b = all[i]!;
      expect(a.changedAt < b.changedAt || (a.changedAt === b.changedAt && a.id < b.id)).toBe(true);
    }

    const withOwn = await readAll(sync, 'account', start.cursor);
    expect(withOwn.changes.map((c) => c.kind === 'upsert' && c.record.name)).not.toContain('Written by sync');
    const own = await sync.readChanges('account', { cursor: start.cursor, includeOwnWrites: true });
    expect(own.changes.map((c) => c.kind === 'upsert' && c.record.name)).toContain('Written by sync');

    const again = await sync.readChanges('account', { cursor: rest.cursor });
    expect(again.changes).toEqual([]);
  });

  test('a user edit after a sync write is seen again; a no-op sync write does not hide a user change', async () => {
    const [created] = await sync.upsert('contact', [{ marketo_lead_id: 9001, email: 'x@example.com' }], { keyField: 'marketo_lead_id' });
    const before = await readAll(sync, 'contact');
    expect(created).toMatchObject({ status: 'created' });
    await other.query(`UPDATE crm.contacts SET title = 'CTO' WHERE marketo_lead_id = 9001`);
    // Same values again from the sync: nothing changes, so the user's edit stays visible.
    const [same] = await sync.upsert('contact', [{ marketo_lead_id: 9001, email: 'x@example.com' }], { keyField: 'marketo_lead_id' });
    expect(same).toMatchObject({ status: 'updated' });
    const after = await readAll(sync, 'contact', before.cursor);
    expect(after.changes).toHaveLength(1);
    expect(after.changes[0]).toMatchObject({ kind: 'upsert', record: { title: 'CTO', marketo_lead_id: 9001 } });
  });

  test('a transaction still open when the stream is read is not skipped once it commits', async () => {
    const before = await readAll(sync, 'user');
    const slow = new pg.Client({ connectionString: db.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO crm.users (email) VALUES ('slow@example.com')`);
      await other.query(`INSERT INTO crm.users (email) VALUES ('fast@example.com')`);
      const during = await readAll(sync, 'user', before.cursor);
      // The committed row is newer than the open transaction's start, so it waits with it.
      expect(during.changes).toEqual([]);
      await slow.query('COMMIT');
      const after = await readAll(sync, 'user', during.cursor);
      expect(after.changes.map((c) => c.kind === 'upsert' && c.record.email).sort()).toEqual(['fast@example.com', 'slow@example.com']);
    } finally {
      await slow.end();
    }
  });

  test('an idle transaction that has written nothing does not hold the stream back; a snapshot read passes an open writer', async () => {
    const before = await readAll(sync, 'user');
    const reader = new pg.Client({ connectionString: db.url });
    const writer = new pg.Client({ connectionString: db.url });
    await Promise.all([reader.connect(), writer.connect()]);
    try {
      // A forgotten read-only session (psql, a report): it can never commit a row, so it must not freeze the stream.
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM crm.users');
      await other.query(`INSERT INTO crm.users (email) VALUES ('after-reader@example.com')`);
      const seen = await readAll(sync, 'user', before.cursor);
      expect(seen.changes.map((c) => c.kind === 'upsert' && c.record.email)).toEqual(['after-reader@example.com']);

      // An open writer holds the stream back, but not a snapshot (a reconciliation compares what is committed now).
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO crm.users (email) VALUES ('uncommitted@example.com')`);
      await other.query(`INSERT INTO crm.users (email) VALUES ('after-writer@example.com')`);
      expect((await readAll(sync, 'user', seen.cursor)).changes).toEqual([]);
      const snapshot = await sync.readChanges('user', { snapshot: true, limit: 10_000 });
      const emails = snapshot.changes.map((c) => c.kind === 'upsert' && c.record.email);
      expect(emails).toEqual(expect.arrayContaining(['after-reader@example.com', 'after-writer@example.com']));
      expect(emails).not.toContain('uncommitted@example.com');
      await writer.query('COMMIT');
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      await Promise.all([reader.end(), writer.end()]);
    }
  });

  test('a writer cannot backdate its change or pose as the sync', async () => {
    const before = await readAll(sync, 'user');
    await other.query(`INSERT INTO crm.users (email, updated_at, origin) VALUES ('sneaky@example.com', '2000-01-01', 'sync')`);
    await other.query(`UPDATE crm.users SET title = 'Boss', updated_at = '2000-01-01', origin = 'sync' WHERE email = 'fast@example.com'`);
    const after = await readAll(sync, 'user', before.cursor);
    expect(after.changes.map((c) => c.kind === 'upsert' && c.record.email).sort()).toEqual(['fast@example.com', 'sneaky@example.com']);
  });

  test('deletes by any program become tombstones carrying the external keys', async () => {
    await other.query(`INSERT INTO crm.leads (marketo_lead_id, email) VALUES (777, 'gone@example.com')`);
    const before = await readAll(sync, 'lead');
    await other.query(`DELETE FROM crm.leads WHERE marketo_lead_id = 777`);
    const after = await readAll(sync, 'lead', before.cursor);
    expect(after.changes).toHaveLength(1);
    expect(after.changes[0]).toMatchObject({ kind: 'delete', keys: { marketo_lead_id: '777', email: 'gone@example.com' }, mergedInto: null });

    const [row] = await sync.upsert('lead', [{ marketo_lead_id: 778, last_name: 'Sync' }], { keyField: 'marketo_lead_id' });
    const del = await sync.delete('lead', [row!.status === 'created' ? row!.id : 'x', 'L-none']);
    expect(del).toEqual([{ id: expect.any(String), status: 'deleted' }, { id: 'L-none', status: 'failed', code: 'NOT_FOUND', reason: expect.any(String) }]);
    const own = await readAll(sync, 'lead', after.cursor);
    expect(own.changes).toEqual([]);
  });
});

describe('upsert', () => {
  test('per-record results: created, updated, and failures that do not fail the batch', async () => {
    const results = await sync.upsert(
      'lead',
      [
        { marketo_lead_id: 1, email: 'a@example.com', first_name: 'Ann', annual_revenue: '1234.50', acquisition_date: '2024-01-02T03:04:05Z' },
        { marketo_lead_id: 2, email: 'not-an-email' },
        { marketo_lead_id: 3, number_of_employees: 'many' },
        { marketo_lead_id: 4, 'x"; drop table leads; --': 'boom' },
        { marketo_lead_id: 5, owner_id: 'U-does-not-exist' },
        { marketo_lead_id: 1, first_name: 'Dup' },
        { email: 'nokey@example.com' },
        { marketo_lead_id: 6, id: 'L1' },
        { marketo_lead_id: 7, last_name: 'x'.repeat(256) },
      ],
      { keyField: 'marketo_lead_id' },
    );
    expect(results.map((r) => (r.status === 'failed' ? r.code : r.status))).toEqual([
      'created', 'INVALID_VALUE', 'INVALID_VALUE', 'UNKNOWN_FIELD', '23503', 'DUPLICATE_IN_BATCH', 'MISSING_KEY', 'READ_ONLY_FIELD', 'INVALID_VALUE',
    ]);
    for (const r of results) if (r.status === 'failed') expect(r.reason).not.toMatch(/not-an-email|many|U-does-not-exist/);
    const again = await sync.upsert('lead', [{ marketo_lead_id: 1, first_name: 'Anna' }, { marketo_lead_id: 8, first_name: 'New' }], { keyField: 'marketo_lead_id' });
    expect(again.map((r) => r.status)).toEqual(['updated', 'created']);
    const [lead] = await sync.getRecords('lead', [again[0]!.status === 'updated' ? again[0]!.id : '']);
    expect(lead).toMatchObject({ first_name: 'Anna', email: 'a@example.com', annual_revenue: 1234.5, marketo_lead_id: 1 });
    expect(await other.query('SELECT count(*)::int AS n FROM crm.leads')).toMatchObject({ rows: [{ n: expect.any(Number) }] });
  });

  test('by CRM id: records with an id update (or fail NOT_FOUND), records without one are created', async () => {
    const [a] = await sync.upsert('account', [{ name: 'Keyed' }], { keyField: 'id' });
    const id = a!.status === 'created' ? a!.id : '';
    const results = await sync.upsert('account', [{ id, industry: 'Retail' }, { id: 'A-missing', industry: 'X' }, { name: 'Fresh' }], { keyField: 'id' });
    expect(results.map((r) => r.status)).toEqual(['updated', 'failed', 'created']);
    const [rec] = await sync.getRecords('account', [id]);
    expect(rec).toMatchObject({ name: 'Keyed', industry: 'Retail' });
    const onlyUpdate = await sync.upsert('account', [{ name: 'no id' }], { keyField: 'id', updateOnly: true });
    expect(onlyUpdate[0]).toMatchObject({ status: 'failed', code: 'MISSING_KEY' });
  });

  test('a batch larger than one pipeline chunk keeps order, duplicates and failures per record', async () => {
    const records = Array.from({ length: 25_000 }, (_, i) => ({ marketo_lead_id: 1_000_000 + i, last_name: `L${i}` }));
    records[15_000] = { marketo_lead_id: 1_015_000, last_name: 'x'.repeat(300) };
    records[20_001] = { marketo_lead_id: 1_000_005, last_name: 'duplicate of record 5' };
    const results = await sync.upsert('lead', records, { keyField: 'marketo_lead_id' });
    expect(results).toHaveLength(25_000);
    expect(results.filter((r) => r.status === 'created')).toHaveLength(24_998);
    expect(results[15_000]).toMatchObject({ status: 'failed', code: 'INVALID_VALUE' });
    expect(results[20_001]).toMatchObject({ status: 'failed', code: 'DUPLICATE_IN_BATCH' });
    results.forEach((r, i) => expect(r.index).toBe(i));
    const { rows } = await other.query(`SELECT count(*)::int AS n, max(last_name) FILTER (WHERE marketo_lead_id = 1000005) AS five FROM crm.leads WHERE marketo_lead_id >= 1000000`);
    expect(rows[0]).toEqual({ n: 24_998, five: 'L5' });
  });

  test('a key that is not unique is refused', async () => {
    await expect(sync.upsert('lead', [{ email: 'a@b.c' }], { keyField: 'email' })).rejects.toThrow(/keyField 'email'/);
  });
});

describe('provisioning and hostile identifiers', () => {
  test('a custom field is provisioned once, described, and writable', async () => {
    expect(await sync.provisionField('lead', { name: 'favorite_color', type: 'string', length: 40 })).toMatchObject({ created: true });
    expect(await sync.provisionField('lead', { name: 'favorite_color', type: 'string', length: 40 })).toMatchObject({ created: false });
    await expect(sync.provisionField('lead', { name: 'favorite_color', type: 'integer' })).rejects.toThrow(/exists as string/);
    const described = await sync.describe();
    const field = described.entities.find((e) => e.name === 'lead')!.fields.find((f) => f.name === 'favorite_color');
    expect(field).toEqual({ name: 'favorite_color', type: 'string', length: 40, nullable: true, updateable: true, unique: false, custom: true });
    const [r] = await sync.upsert('lead', [{ marketo_lead_id: 50, favorite_color: 'teal' }], { keyField: 'marketo_lead_id' });
    expect(r).toMatchObject({ status: 'created' });
  });

  test('a hostile field or object name is refused and nothing is dropped', async () => {
    const hostile = 'x"; drop table leads; --';
    await expect(sync.provisionField('lead', { name: hostile, type: 'string' })).rejects.toThrow(/invalid field name/);
    await expect(sync.provisionCustomObject({ name: hostile, fields: [{ name: 'vin', type: 'string' }], dedupeFields: ['vin'] })).rejects.toThrow(/invalid custom object name/);
    await expect(sync.provisionCustomObject({ name: 'car', fields: [{ name: hostile, type: 'string' }], dedupeFields: [hostile] })).rejects.toThrow(/invalid field name/);
    await expect(sync.readChanges('custom:x"; drop table leads; --' as never, {})).rejects.toThrow();
    const { rows } = await other.query(`SELECT to_regclass('crm.leads') IS NOT NULL AS present`);
    expect(rows[0].present).toBe(true);
  });

  test('a custom object table is provisioned with change tracking and tombstones', async () => {
    const spec = { name: 'car', fields: [{ name: 'vin', type: 'string' as const, length: 17 }, { name: 'model', type: 'string' as const }, { name: 'price', type: 'currency' as const }], dedupeFields: ['vin'], links: ['contact' as const] };
    expect(await sync.provisionCustomObject(spec)).toMatchObject({ created: true, entity: 'custom:car' });
    expect(await sync.provisionCustomObject(spec)).toMatchObject({ created: false });
    const start = await readAll(sync, 'custom:car');
    const res = await user.upsert('custom:car', [{ vin: 'VIN1', model: 'T', price: 100 }, { vin: 'VIN2', model: 'S' }], { keyField: 'vin' });
    expect(res.map((r) => r.status)).toEqual(['created', 'created']);
    await other.query(`DELETE FROM crm.co_car WHERE vin = 'VIN2'`);
    const changes = (await readAll(sync, 'custom:car', start.cursor)).changes;
    // VIN2 is gone: its stream shows only the tombstone.
    expect(changes.map((c) => c.kind)).toEqual(['upsert', 'delete']);
    expect(changes[0]).toMatchObject({ kind: 'upsert', record: { vin: 'VIN1', model: 'T', price: 100 } });
    expect(changes[1]).toMatchObject({ kind: 'delete', keys: { vin: 'VIN2', marketo_guid: null } });
    const described = await sync.describe();
    expect(described.entities.find((e) => e.name === 'custom:car')!.fields.find((f) => f.name === 'contact_id')).toMatchObject({ type: 'reference', references: 'contact', custom: false });
  });
});

describe('merge and lead conversion', () => {
  test('merge keeps winner values, fills its gaps, moves children and leaves tombstones naming the winner', async () => {
    const [acct] = await user.upsert('account', [{ name: 'Opp Co' }], { keyField: 'id' });
    const accountId = acct!.status === 'created' ? acct!.id : '';
    const people = await user.upsert(
      'contact',
      [
        { marketo_lead_id: 101, email: 'w@example.com', title: null, account_id: accountId },
        { marketo_lead_id: 102, email: 'l@example.com', title: 'VP', phone: '555' },
      ],
      { keyField: 'marketo_lead_id' },
    );
    const [winner, loser] = people.map((p) => (p.status === 'failed' ? '' : p.id));
    const [opp] = await user.upsert('opportunity', [{ name: 'Deal', account_id: accountId, amount: 1000 }], { keyField: 'id' });
    const oppId = opp!.status === 'created' ? opp!.id : '';
    const roles = await user.upsert('opportunityRole', [
      { opportunity_id: oppId, contact_id: winner!, role: 'Buyer', is_primary: true },
      { opportunity_id: oppId, contact_id: loser!, role: 'Buyer' },
      { opportunity_id: oppId, contact_id: loser!, role: 'Champion' },
    ], { keyField: 'id' });
    expect(roles.map((r) => r.status)).toEqual(['created', 'created', 'created']);
    const before = await readAll(user, 'contact');

    const result = await sync.merge('contact', winner!, [loser!]);
    expect(result).toEqual({ winnerId: winner, mergedIds: [loser] });
    const [merged] = await sync.getRecords('contact', [winner!]);
    expect(merged).toMatchObject({ email: 'w@example.com', title: 'VP', phone: '555', marketo_lead_id: 101 });
    const { rows } = await other.query(`SELECT contact_id, role FROM crm.opportunity_contact_roles WHERE opportunity_id = $1 ORDER BY role`, [oppId]);
    expect(rows).toEqual([{ contact_id: winner, role: 'Buyer' }, { contact_id: winner, role: 'Champion' }]);
    const changes = await user.readChanges('contact', { cursor: before.cursor, includeOwnWrites: true });
    expect(changes.changes.find((c) => c.kind === 'delete')).toMatchObject({ id: loser, mergedInto: winner, keys: { marketo_lead_id: '102' } });
  });

  test('convert a lead into a new contact and account; the Marketo id moves to the contact', async () => {
    const [l] = await user.upsert('lead', [{ marketo_lead_id: 555, first_name: 'Lea', last_name: 'Lead', company: 'NewCo', email: 'lea@newco.com', city: 'Paris', favorite_color: 'red' }], { keyField: 'marketo_lead_id' });
    await user.provisionField('contact', { name: 'favorite_color', type: 'string', length: 40 });
    const leadId = l!.status === 'created' ? l!.id : '';
    const before = await readAll(sync, 'contact');
    const result = await user.convertLead({ leadId });
    expect(result).toMatchObject({ leadId, createdAccount: true, createdContact: true, marketoLeadToMerge: null });
    const [contact] = await user.getRecords('contact', [result.contactId]);
    expect(contact).toMatchObject({ marketo_lead_id: 555, first_name: 'Lea', email: 'lea@newco.com', mailing_city: 'Paris', account_id: result.accountId, favorite_color: 'red' });
    const [account] = await user.getRecords('account', [result.accountId]);
    expect(account).toMatchObject({ name: 'NewCo' });
    const [lead] = await user.getRecords('lead', [leadId]);
    expect(lead).toMatchObject({ is_converted: true, converted_contact_id: result.contactId, converted_account_id: result.accountId, marketo_lead_id: null });
    const seen = await readAll(sync, 'contact', before.cursor);
    expect(seen.changes.map((c) => c.id)).toContain(result.contactId);
    await expect(user.convertLead({ leadId })).rejects.toThrow(/already converted/);
  });

  test('convert into an existing contact reports the Marketo lead to merge', async () => {
    const [acct] = await user.upsert('account', [{ name: 'Existing Co' }], { keyField: 'id' });
    const accountId = acct!.status === 'created' ? acct!.id : '';
    const [c] = await user.upsert('contact', [{ marketo_lead_id: 600, email: 'c@existing.com', account_id: accountId }], { keyField: 'marketo_lead_id' });
    const [l] = await user.upsert('lead', [{ marketo_lead_id: 601, email: 'dup@existing.com', title: 'Buyer' }], { keyField: 'marketo_lead_id' });
    const contactId = c!.status === 'created' ? c!.id : '';
    const result = await user.convertLead({ leadId: l!.status === 'created' ? l!.id : '', contactId, accountId });
    expect(result).toMatchObject({ contactId, accountId, createdContact: false, createdAccount: false, marketoLeadToMerge: '601' });
    const [contact] = await user.getRecords('contact', [contactId]);
    expect(contact).toMatchObject({ email: 'c@existing.com', title: 'Buyer', marketo_lead_id: 600 });
  });
});
