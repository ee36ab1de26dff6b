import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { StateFileError, type RunningEmulator } from '../../emulator/index.js';
import { call, start, token, type Envelope } from './helpers.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const dirs: string[] = [];
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function admin(em: RunningEmulator, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${em.url}/_emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function ok(em: RunningEmulator, t: string, path: string, json?: unknown): Promise<Envelope> {
  const res = await call(em, path, { token: t, json, method: json === undefined && path.endsWith('enqueue.json') ? 'POST' : undefined });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.success).toBe(true);
  return res.body;
}

async function until<T>(what: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await what();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What every read route shows of the subscription (request ids left out). */
async function reads(em: RunningEmulator, t: string, exportIds: string[], batchId: number): Promise<Record<string, unknown>> {
  const ids = Array.from({ length: 60 }, (_, i) => i + 1).join(',');
  const paths = [
    '/rest/v1/leads/describe.json', '/rest/v1/leads/describe2.json', '/rest/v1/leads/partitions.json', '/rest/v1/leads/schema/fields.json',
    `/rest/v1/leads.json?filterType=id&filterValues=${ids}`,
    '/rest/v1/leads.json?filterType=email&filterValues=kept@example.com,imported1@example.com',
    '/rest/v1/lists.json', '/rest/v1/lists/1001/leads.json', '/rest/v1/leads/programs/1001.json?fields=email',
    '/rest/v1/leads/1/listMembership.json', '/rest/v1/leads/1/programMembership.json',
    '/rest/v1/companies/describe.json', '/rest/v1/companies.json?filterType=externalCompanyId&filterValues=kept-co',
    '/rest/v1/customobjects.json', '/rest/v1/customobjects/car_c/describe.json', '/rest/v1/customobjects/car_c.json?filterType=vin&filterValues=V1',
    '/rest/v1/activities/types.json', '/rest/v1/activities/external/types.json',
    '/rest/asset/v1/programs.json', '/rest/asset/v1/staticLists.json',
    ...exportIds.map((id) => `/bulk/v1/leads/export/${id}/status.json`),
    `/bulk/v1/leads/batch/${batchId}.json`,
  ];
  const out: Record<string, unknown> = {};
  for (const p of paths) {
    const { body } = await call(em, p, { token: t });
    const { requestId: _r, ...rest } = body;
    out[p] = rest;
  }
  const since = (await call(em, '/rest/v1/activities/pagingtoken.json?sinceDatetime=2020-01-01T00:00:00Z', { token: t })).body.nextPageToken as string;
  const activities: unknown[] = [];
  for (let page = since, more = true; more;) {
    const { body } = await call(em, `/rest/v1/activities.json?nextPageToken=${encodeURIComponent(page)}&activityTypeIds=1,12,13,24,37,104,145`, { token: t });
    activities.push(...(body.result ?? []));
    more = body.moreResult === true;
    page = body.nextPageToken as string;
  }
  out.activities = activities;
  const file = await fetch(`${em.url}/bulk/v1/leads/export/${exportIds[0]}/file.json`, { headers: { Authorization: `Bearer ${t}` } });
  out.exportFile = await file.text();
  return out;
}

describe('emulator state file', () => {
  it('a restarted emulator shows everything it showed before: schema, data, activities, bulk jobs and files', async () => {
    const file = join(stateDir(), 'state.json');
    let em = await start({ stateFile: file, seed: { leads: 40, seed: 7 }, now: () => NOW });
    let t = await token(em);
    await admin(em, 'schema/fields', { object: 'lead', field: { name: 'loyaltyTier', displayName: 'Loyalty Tier', dataType: 'string' } });
    await admin(em, 'schema/customobjects', {
      name: 'car_c', displayName: 'Car', dedupeFields: ['vin'], leadLink: { field: 'leadId' },
      fields: [{ name: 'vin', displayName: 'VIN', dataType: 'string' }, { name: 'leadId', displayName: 'Lead', dataType: 'integer' }],
    });
    await ok(em, t, '/rest/v1/leads.json', { action: 'createOrUpdate', input: [{ email: 'kept@example.com', firstName: 'Kept', loyaltyTier: 'gold' }] });
    await ok(em, t, '/rest/v1/leads.json', { action: 'updateOnly', lookupField: 'id', input: [{ id: 2, firstName: 'Renamed' }] });
    await ok(em, t, '/rest/v1/leads/delete.json', { input: [{ id: 3 }] });
    await ok(em, t, '/rest/v1/companies.json', { input: [{ externalCompanyId: 'kept-co', company: 'Kept Co' }] });
    await ok(em, t, '/rest/v1/customobjects/car_c.json', { input: [{ vin: 'V1', leadId: 1 }] });
    await ok(em, t, '/rest/v1/lists/1001/leads.json', { input: [{ id: 1 }, { id: 4 }] });
    // A finished export (its file kept), and one created but not yet enqueued.
    const exportBody = { fields: ['id', 'email', 'firstName'], format: 'CSV', filter: { staticListId: 1001 } };
    const done = (await ok(em, t, '/bulk/v1/leads/export/create.json', exportBody)).result?.[0]?.exportId as string;
    await ok(em, t, `/bulk/v1/leads/export/${done}/enqueue.json`);
    await until(() => call(em, `/bulk/v1/leads/export/${done}/status.json`, { token: t }), (r) => r.body.result?.[0]?.status === 'Completed');
    const waiting = (await ok(em, t, '/bulk/v1/leads/export/create.json', exportBody)).result?.[0]?.exportId as string;
    const form = new FormData();
    form.set('format', 'csv');
    form.set('file', new Blob(['email,firstName\nimported1@example.com,Imp\nimported2@example.com,Imp2\n']), 'leads.csv');
    const imported = (await (await fetch(`${em.url}/bulk/v1/leads.json`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${t}` } })).json()) as Envelope;
    const batchId = imported.result?.[0]?.batchId as number;
    await until(() => call(em, `/bulk/v1/leads/batch/${batchId}.json`, { token: t }), (r) => r.body.result?.[0]?.status === 'Complete');

    const before = await reads(em, t, [done, waiting], batchId);
    expect(String(before.exportFile)).toMatch(/^id,email,firstName\n1,/);
    const listed = String(before.exportFile).trim().split('\n').length - 1;
    await em.close();

    em = await start({ stateFile: file, seed: { leads: 5, seed: 99 }, now: () => NOW });
    try {
      expect(em.seedSummary).toBeUndefined();
      t = await token(em);
      const after = await reads(em, t, [done, waiting], batchId);
      expect(after).toEqual(before);
      // Counters carry on: the next lead gets the next id, the waiting export can still run.
      const created = await ok(em, t, '/rest/v1/leads.json', { input: [{ email: 'next@example.com' }] });
      expect(created.result?.[0]?.id).toBe(44);
      await ok(em, t, `/bulk/v1/leads/export/${waiting}/enqueue.json`);
      const status = await until(() => call(em, `/bulk/v1/leads/export/${waiting}/status.json`, { token: t }), (r) => r.body.result?.[0]?.status === 'Completed');
      expect(status.body.result?.[0]?.numberOfRecords).toBe(listed);
    } finally {
      await em.close();
    }
  });

  it('saves only after calls that change something, and a burst of concurrent writes shares saves', async () => {
    const file = join(stateDir(), 'state.json');
    const em = await start({ stateFile: file, seed: { leads: 10 }, now: () => NOW, limits: { maxConcurrent: 50 } });
    try {
      const saver = em.persistence!;
      const t = await token(em);
      const first = saver.stats.saves;
      await ok(em, t, '/rest/v1/leads.json?filterType=id&filterValues=1,2');
      await ok(em, t, '/rest/v1/leads.json', { action: 'updateOnly', lookupField: 'id', input: [{ id: 999, firstName: 'x' }] });
      expect(saver.stats.saves).toBe(first);
      const writes = Array.from({ length: 20 }, (_, i) => ok(em, t, '/rest/v1/leads.json', { input: [{ email: `burst${i}@example.com` }] }));
      await Promise.all(writes);
      const burstSaves = saver.stats.saves - first;
      expect(burstSaves).toBeGreaterThanOrEqual(1);
      expect(burstSaves).toBeLessThan(20);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { subscription: { leads: { size: number } } };
      expect(saved.subscription.leads.size).toBe(30);
    } finally {
      await em.close();
    }
  });

  it('refuses a damaged file, naming what is wrong, and leaves it untouched', async () => {
    const dir = stateDir();
    const file = join(dir, 'state.json');
    const em = await start({ stateFile: file, seed: { leads: 5 }, now: () => NOW });
    await em.close();
    const good = JSON.parse(readFileSync(file, 'utf8')) as { subscription: { leads: { createdAt: unknown[] } } };
    good.subscription.leads.createdAt[2] = 'yesterday';
    const damaged = JSON.stringify(good);
    writeFileSync(file, damaged);
    await expect(start({ stateFile: file, seed: { leads: 5 } })).rejects.toThrow(/state\.json is damaged: subscription\.leads\.createdAt\.2: /);
    await expect(start({ stateFile: file })).rejects.toBeInstanceOf(StateFileError);
    expect(readFileSync(file, 'utf8')).toBe(damaged);
    writeFileSync(file, damaged.slice(0, 200));
    await expect(start({ stateFile: file })).rejects.toThrow(/is damaged: not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe(damaged.slice(0, 200));
  });
});

function startCli(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'emulator', '--port', '0', '--client-id', 'k', '--client-secret', 's', '--seed-leads', '5', '--state-file', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  return once(lines, 'line').then(([line]) => ({ child, url: /(http:\/\/\S+)/.exec(String(line))?.[1] ?? '' }));
}

describe('marketo-sync emulator --state-file', () => {
  it('a SIGKILLed emulator restarts with every write it acknowledged', async () => {
    const file = join(stateDir(), 'state.json');
    let { child, url } = await startCli(file);
    const auth = async (u: string) => `Bearer ${((await (await fetch(`${u}/identity/oauth/token?grant_type=client_credentials&client_id=k&client_secret=s`)).json()) as { access_token: string }).access_token}`;
    let bearer = await auth(url);
    const acknowledged = new Map<string, number>();
    let stop = false;
    // Four writers sync leads one call after another until the process dies under them.
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const email = `w${w}-${i}@example.com`;
        try {
          const res = await fetch(`${url}/rest/v1/leads.json`, { method: 'POST', headers: { Authorization: bearer, 'Content-Type': 'application/json' }, body: JSON.stringify({ input: [{ email, firstName: `n${i}` }] }) });
          const body = (await res.json()) as Envelope;
          const id = body.result?.[0]?.id;
          if (typeof id === 'number') acknowledged.set(email, id);
        } catch {
          return;
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await until(async () => acknowledged.size, (n) => n >= 40);
    child.kill('SIGKILL');
    await once(child, 'exit');
    stop = true;
    await Promise.all(writers);

    ({ child, url } = await startCli(file));
    try {
      bearer = await auth(url);
      const emails = [...acknowledged.keys()];
      for (let i = 0; i < emails.length; i += 100) {
        const chunk = emails.slice(i, i + 100);
        const res = await fetch(`${url}/rest/v1/leads.json?filterType=email&fields=email,firstName&filterValues=${encodeURIComponent(chunk.join(','))}`, { headers: { Authorization: bearer } });
        const found = new Map(((await res.json()) as Envelope).result?.map((r) => [r.email as string, r.id as number]));
        for (const email of chunk) expect([email, found.get(email)]).toEqual([email, acknowledged.get(email)]);
      }
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 30_000);
});
