import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import type { RunningEmulator } from '../../emulator/index.js';
import { call, errorCode, start, token } from './helpers.js';

async function admin(em: RunningEmulator, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${em.url}/_emulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('admin endpoints', () => {
  let em: RunningEmulator;
  beforeAll(async () => {
    em = await start({ now: () => Date.parse('2026-05-01T00:00:00Z') });
  });
  afterAll(async () => em.close());

  it('counts calls per endpoint and resets', async () => {
    const t = await token(em);
    await call(em, '/rest/v1/leads/describe2.json', { token: t });
    await call(em, '/rest/v1/nope.json', { token: t });
    const calls = await admin(em, 'GET', 'calls');
    expect(calls.body.endpoints).toMatchObject({
      'GET /identity/oauth/token': { calls: 1, counted: 0 },
      'GET /rest/v1/leads/describe2.json': { calls: 1, counted: 1, errors: {} },
      'GET (unknown)': { calls: 1, counted: 1, errors: { '610': 1 } },
    });
    await admin(em, 'POST', 'calls/reset');
    expect((await admin(em, 'GET', 'calls')).body.total).toBe(0);
  });

  it('moves the clock, expires tokens, seeds, manages faults, rejects bad bodies naming the field', async () => {
    expect((await admin(em, 'POST', 'clock', { advanceMs: 86_400_000 })).body.now).toBe('2026-05-02T00:00:00.000Z');
    const t = await token(em);
    await admin(em, 'POST', 'tokens/expire');
    expect(errorCode((await call(em, '/rest/v1/leads/describe2.json', { token: t })).body)).toBe('602');
    const seeded = await admin(em, 'POST', 'seed', { leads: 25, programs: 1, lists: 1, seed: 4 });
    expect(seeded.body).toMatchObject({ leads: 25, programs: 1, lists: 1 });
    expect((await admin(em, 'GET', 'state')).body).toMatchObject({ leads: 25 });
    const rule = await admin(em, 'POST', 'faults', { path: '/rest/v1/leads*', code: '611' });
    expect((await admin(em, 'GET', 'faults')).body.faults).toEqual([expect.objectContaining({ id: rule.body.id, code: '611' })]);
    expect(errorCode((await call(em, '/rest/v1/leads/describe2.json')).body)).toBe('611');
    expect((await admin(em, 'DELETE', `faults/${String(rule.body.id)}`)).body).toEqual({ removed: true });
    expect((await call(em, '/rest/v1/leads/describe2.json')).body.success).toBe(true);
    const bad = await admin(em, 'POST', 'schema/fields', { object: 'lead', field: { name: 'x', displayName: 'X', dataType: 'strng' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('dataType');
    expect((await admin(em, 'POST', 'faults', { code: '999' })).status).toBe(400);
  });

  it('gzips large JSON bodies when asked', async () => {
    const t = await token(em);
    const body = await new Promise<Buffer>((resolve, reject) => {
      request(`${em.url}/rest/v1/leads/describe.json`, { headers: { Authorization: `Bearer ${t}`, 'Accept-Encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      }).end();
    });
    expect((JSON.parse(gunzipSync(body).toString('utf8')) as { success: boolean }).success).toBe(true);
  });
});

describe('marketo-sync emulator (CLI)', () => {
  it('prints one ready line, serves with the given credentials, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'emulator', '--port', '0', '--client-id', 'cli-id', '--client-secret', 'cli-secret', '--seed-leads', '5', '--rate-limit-calls', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      expect(line).toMatch(/^Marketo emulator listening on http:\/\/127\.0\.0\.1:\d+ \(client id cli-id\)$/);
      const url = /(http:\/\/\S+)/.exec(line)?.[1] ?? '';
      const tok = (await (await fetch(`${url}/identity/oauth/token?grant_type=client_credentials&client_id=cli-id&client_secret=cli-secret`)).json()) as { access_token: string };
      const lead = (await (await fetch(`${url}/rest/v1/lead/5.json`, { headers: { Authorization: `Bearer ${tok.access_token}` } })).json()) as { result: { id: number }[] };
      expect(lead.result[0]?.id).toBe(5);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
