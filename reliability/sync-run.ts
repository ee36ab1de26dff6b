import type { WorkflowHandle } from '@temporalio/client';
import { PostgresCrmConnector } from '../src/crm/postgres/postgres-connector.js';
import type { syncLoop } from '../workflows/index.js';
import { syncNowSignal, syncStatusQuery, syncStopSignal } from '../workflows/sync-signals.js';
import type { SyncStatus } from '../workflows/sync-types.js';
import type { Scenario } from './scenario.js';

/**
 * The steady state on a case's stack: `syncLoop` on the scenario's task queue, its `status` read
 * through whatever restarts (a query that fails is "not known now", never an error), and the
 * changes users make on both sides between cycles, kept so the check can ask for each of them.
 */
export type SyncLoopHandle = WorkflowHandle<typeof syncLoop>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSyncLoop(s: Scenario, workflowId: string, intervalSeconds: number): Promise<SyncLoopHandle> {
  return s.host.client.workflow.start<typeof syncLoop>('syncLoop', { taskQueue: s.taskQueue, workflowId, args: [{ intervalSeconds }] });
}

/** The loop's status, or undefined while Temporal or the worker cannot answer (restarts, kills). */
export async function syncStatus(handle: SyncLoopHandle): Promise<SyncStatus | undefined> {
  try {
    return await handle.query(syncStatusQuery);
  } catch {
    return undefined;
  }
}

/** Polls the status until `done` holds or `timeoutMs` passes; returns the last status seen and whether it held. */
export async function statusUntil(handle: SyncLoopHandle, done: (s: SyncStatus) => boolean, timeoutMs: number): Promise<{ ok: boolean; last: SyncStatus | undefined }> {
  const until = Date.now() + timeoutMs;
  let last: SyncStatus | undefined;
  for (;;) {
    const s = await syncStatus(handle);
    if (s) last = s;
    if (s && done(s)) return { ok: true, last };
    if (Date.now() >= until) return { ok: false, last };
    await sleep(150);
  }
}

/** Where a cycle stands, for kill logs and stall reports. */
export function describeStatus(s: SyncStatus | undefined): string {
  if (!s) return 'status unknown';
  const step = s.step ? ` in step ${s.step.seed} ${s.step.activity} (run ${s.step.run})` : '';
  return `cycle ${s.cycles} ${s.state}${step}`;
}

export async function syncNow(handle: SyncLoopHandle): Promise<void> {
  await handle.signal(syncNowSignal);
}

export async function stopSyncLoop(handle: SyncLoopHandle, timeoutMs: number): Promise<string> {
  try {
    await handle.signal(syncStopSignal, { reason: 'reliability case done' });
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    const r = await Promise.race([handle.result(), timer]);
    if (r === 'timeout') {
      await handle.terminate('reliability case: the loop did not stop in time').catch(() => undefined);
      return `loop did not stop within ${Math.round(timeoutMs / 1000)} s (terminated)`;
    }
    return `loop stopped after ${r.cycles} cycles`;
  } catch (err) {
    return `loop stop failed: ${(err as Error).message}`;
  }
}

/**
 * Users on both sides: a CRM user (writes with origin `user`, so the push picks them up) creating
 * and editing contacts and leads, and Marketo users editing and creating leads in the UI. Every
 * value written is unique, so a change that arrives late, twice or not at all shows as a difference.
 */
export class BothSidesUsers {
  readonly createdContacts: string[] = [];
  readonly createdLeads: number[] = [];
  counts = { crmCreates: 0, crmEdits: 0, marketoCreates: 0, marketoEdits: 0, salesEdits: 0 };
  private n = 0;

  private constructor(
    private readonly s: Scenario,
    private readonly user: PostgresCrmConnector,
    private readonly random: () => number,
    private readonly accounts: string[],
  ) {}

  static async open(s: Scenario, random: () => number): Promise<BothSidesUsers> {
    const user = await PostgresCrmConnector.open({ connectionString: s.db.url, writeOrigin: 'user' });
    // Contacts belong to accounts the bootstrap loaded: their Marketo leads carry the company key,
    // which is what routes a person back to a contact.
    const { rows } = await s.crm.pool.query<{ id: string }>('SELECT id::text AS id FROM crm.accounts WHERE external_company_id IS NOT NULL ORDER BY id LIMIT 50');
    if (rows.length === 0) throw new Error('no bootstrapped CRM account to attach contacts to');
    return new BothSidesUsers(s, user, random, rows.map((r) => r.id));
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.random() * items.length)];
  }

  private word(): string {
    return `r${(++this.n).toString(36)}${Math.floor(this.random() * 1e6).toString(36)}`;
  }

  /** One round: the CRM user adds a contact and edits a contact and a lead; Marketo users edit two leads and add one. */
  async round(): Promise<void> {
    const pool = this.s.crm.pool;
    const account = this.pick(this.accounts)!;
    const [created] = await this.user.upsert('contact', [{ email: `sync-crash-${++this.n}@reliability.example`, first_name: this.word(), last_name: this.word(), account_id: account }], { keyField: 'id' });
    if (!created || created.status === 'failed') throw new Error(`CRM user could not create a contact: ${created?.status === 'failed' ? `${created.code} ${created.reason}` : 'no result'}`);
    this.createdContacts.push(created.id);
    this.counts.crmCreates++;
    for (const table of ['contacts', 'leads'] as const) {
      const { rows } = await pool.query<{ id: string }>(`SELECT id::text AS id FROM crm.${table} ORDER BY random() LIMIT 1`);
      const id = rows[0]?.id;
      if (!id) continue;
      for (const r of await this.user.upsert(table === 'contacts' ? 'contact' : 'lead', [{ id, title: this.word() }], { keyField: 'id', updateOnly: true })) {
        if (r.status === 'failed') throw new Error(`CRM user could not edit a ${table} row: ${r.code} ${r.reason}`);
      }
      this.counts.crmEdits++;
    }
    const sub = this.s.emulator.subscription;
    const { rows: known } = await pool.query<{ id: number }>(
      `SELECT id FROM (SELECT marketo_lead_id AS id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) p
        WHERE id IS NOT NULL ORDER BY random() LIMIT 2`,
    );
    for (const { id } of known) {
      if (sub.getLead(Number(id)) === undefined) continue;
      sub.editLeadAsUser(Number(id), { title: this.word(), lastName: this.word() });
      this.counts.marketoEdits++;
    }
    this.createdLeads.push(sub.createLead({ email: `sync-crash-mkto-${++this.n}@reliability.example`, firstName: this.word(), lastName: this.word(), title: this.word() }, 1, 'Web client'));
    this.counts.marketoCreates++;
  }

  /**
   * Sales users edit `n` accounts (industry), opportunities (next step) and sales users (title):
   * work for the sales push steps 1, 2 and 8. Plain SQL on the user's pool: origin `user`.
   */
  async salesEdits(n: number): Promise<void> {
    const pool = this.user.pool;
    const edits: [string, string, string][] = [
      ['accounts', 'industry', 'external_company_id IS NOT NULL'],
      ['opportunities', 'next_step', 'true'],
      ['users', 'title', 'true'],
    ];
    for (const [table, column, where] of edits) {
      const { rowCount } = await pool.query(
        `UPDATE crm.${table} SET ${column} = $1 || id WHERE id IN (SELECT id FROM crm.${table} WHERE ${where} ORDER BY random() LIMIT $2)`,
        [`${this.word()}-`, n],
      );
      this.counts.salesEdits += rowCount ?? 0;
    }
  }

  /** A CRM user's mass update (a list import): `n` contacts get a new mobile phone each, one push of many calls. */
  async crmMassEdit(n: number): Promise<number> {
    const { rowCount } = await this.user.pool.query(
      `UPDATE crm.contacts SET mobile_phone = $1 || id WHERE id IN (SELECT id FROM crm.contacts WHERE marketo_lead_id IS NOT NULL ORDER BY random() LIMIT $2)`,
      [`+1 555 ${Math.floor(this.random() * 1e4)} `, n],
    );
    this.counts.crmEdits += rowCount ?? 0;
    return rowCount ?? 0;
  }

  /**
   * A Marketo user's mass change (a smart campaign's Change Data Value) of `n` leads' first names:
   * from 3,000 changed leads the pull fetches them by Bulk Lead Extract rather than by id.
   * First names only: the CRM users never edit them, so no field is changed on both sides.
   */
  marketoMassEdit(n: number): number {
    const sub = this.s.emulator.subscription;
    const ids: number[] = [];
    for (const lead of sub.iterateLeads()) ids.push(lead.id);
    // Partial Fisher–Yates: n distinct leads drawn by the seeded random.
    const take = Math.min(n, ids.length);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(this.random() * (ids.length - i));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
      sub.editLeadAsUser(ids[i]!, { firstName: this.word() });
    }
    this.counts.marketoEdits += take;
    return take;
  }

  /** CRM-created contacts must each be one Marketo lead (by `crmId`); Marketo-created leads one CRM person. */
  async check(): Promise<{ lost: number; duplicates: number; detail: string }> {
    const sub = this.s.emulator.subscription;
    const byCrmId = new Map<string, number>();
    for (const lead of sub.iterateLeads()) {
      const crmId = sub.leadValue(lead.id, 'crmId');
      if (typeof crmId === 'string' && crmId !== '') byCrmId.set(crmId, (byCrmId.get(crmId) ?? 0) + 1);
    }
    const pushedLost = this.createdContacts.filter((id) => !byCrmId.has(id)).length;
    const pushedTwice = this.createdContacts.filter((id) => (byCrmId.get(id) ?? 0) > 1).length;
    const { rows } = await this.s.crm.pool.query<{ id: number; n: string }>(
      `SELECT id, count(*) AS n FROM (SELECT marketo_lead_id AS id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) p
        WHERE id = ANY($1::bigint[]) GROUP BY id`,
      [this.createdLeads],
    );
    const held = new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
    const pulledLost = this.createdLeads.filter((id) => !held.has(id)).length;
    const pulledTwice = this.createdLeads.filter((id) => (held.get(id) ?? 0) > 1).length;
    return {
      lost: pushedLost + pulledLost,
      duplicates: pushedTwice + pulledTwice,
      detail: `${this.createdContacts.length - pushedLost}/${this.createdContacts.length} CRM-created contacts in Marketo${pushedTwice ? ` (${pushedTwice} twice)` : ''}, ${this.createdLeads.length - pulledLost}/${this.createdLeads.length} Marketo-created leads in the CRM${pulledTwice ? ` (${pulledTwice} twice)` : ''}`,
    };
  }

  async close(): Promise<void> {
    await this.user.close();
  }
}
