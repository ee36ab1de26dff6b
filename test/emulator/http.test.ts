import { request } from 'node:http';
import type { RunningEmulator } from '../../emulator/index.js';
import { call, CLIENT_ID, CLIENT_SECRET, errorCode, start, token } from './helpers.js';

describe('emulator HTTP surface', () => {
  let em: RunningEmulator;
  let clock = Date.parse('2026-03-07T12:00:00Z');
  beforeAll(async () => {
    em = await start({ now: () => clock, tokenTtlSeconds: 60 });
  });
  afterAll(async () => em.close());

  describe('identity', () => {
    it('issues {uuid}:{suffix} tokens and hands the same one back with the remaining lifetime', async () => {
      const first = (await (await fetch(`${em.url}/identity/oauth/token?grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}`)).json()) as { access_token: string };
      expect(first).toEqual({ access_token: expect.stringMatching(/^[0-9a-f-]{36}:int$/), token_type: 'bearer', expires_in: 59, scope: 'api-user@emulator.example' });
      clock += 10_000;
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      const res = await fetch(`${em.url}/identity/oauth/token`, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      expect(res.headers.get('cache-control')).toBe('no-store');
      const second = (await res.json()) as { access_token: string; expires_in: number };
      expect(second.access_token).toBe(first.access_token);
      expect(second.expires_in).toBe(49);
    });

    it('answers 401 with an OAuth body for bad credentials', async () => {
      const res = await fetch(`${em.url}/identity/oauth/token?grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=wrong`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });
    });
  });

  describe('auth on API calls', () => {
    it('600 without a token, 601 for an unknown one, accepts the access_token parameter', async () => {
      expect(errorCode((await call(em, '/rest/v1/leads/describe2.json', { token: null })).body)).toBe('600');
      expect((await call(em, '/rest/v1/leads/describe2.json', { token: 'nope:int' })).body.errors).toEqual([{ code: '601', message: 'Access token invalid' }]);
      const t = await token(em);
      const ok = await call(em, `/rest/v1/leads/describe2.json?access_token=${encodeURIComponent(t)}`, { token: null });
      expect(ok.body.success).toBe(true);
    });

    it('an expired token answers 602 once, then 601', async () => {
      const t = await token(em);
      clock += 61_000;
      expect(errorCode((await call(em, '/rest/v1/leads/describe2.json', { token: t })).body)).toBe('602');
      expect(errorCode((await call(em, '/rest/v1/leads/describe2.json', { token: t })).body)).toBe('601');
      const fresh = await token(em);
      expect(fresh).not.toBe(t);
    });
  });

  describe('envelope and routing', () => {
    it('success envelope: requestId {hex}#{epochMsHex}, JSON content type, HTTP 200', async () => {
      const r = await call(em, '/rest/v1/leads/partitions.json');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json;charset=UTF-8');
      const [left, right] = r.body.requestId.split('#');
      expect(left).toMatch(/^[0-9a-f]{1,5}$/);
      expect(parseInt(right ?? '', 16)).toBe(clock);
      expect(r.body.result).toEqual([{ id: 1, name: 'Default', description: 'Initial system lead partition' }]);
    });

    it('unknown path → 610, wrong verb → 605, bad JSON → 609, wrong content type → 612 (all HTTP 200)', async () => {
      const unknown = await call(em, '/rest/v1/nothing/here.json');
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual({ requestId: expect.any(String), success: false, errors: [{ code: '610', message: 'Requested resource not found' }] });
      expect((await call(em, '/rest/v1/leads/describe2.json', { method: 'DELETE' })).body.errors?.[0]).toEqual({ code: '605', message: "Request method 'DELETE' not supported" });
      const bad = await call(em, '/rest/v1/leads.json', { method: 'POST', headers: { 'Content-Type': 'application/json' }, form: { x: '{' } });
      expect(errorCode(bad.body)).toBe('609');
      const form = await call(em, '/rest/v1/leads.json', { form: { input: 'x' } });
      expect(errorCode(form.body)).toBe('612');
    });

    it('bad bodies fail loudly naming the field', async () => {
      const t = await token(em);
      expect((await call(em, '/rest/v1/leads.json', { token: t, json: {} })).body.errors).toEqual([{ code: '701', message: 'input cannot be blank' }]);
      const wrong = await call(em, '/rest/v1/leads.json', { token: t, json: { action: 'upsert', input: [] } });
      expect(wrong.body.errors?.[0]?.code).toBe('1003');
      expect(wrong.body.errors?.[0]?.message).toContain("'action'");
      expect((await call(em, '/rest/v1/leads.json?filterType=email', { token: t })).body.errors).toEqual([{ code: '701', message: 'filterValues cannot be blank' }]);
      expect((await call(em, '/rest/v1/leads.json?filterType=id&filterValues=1&batchSize=301', { token: t })).body.errors?.[0]?.code).toBe('1003');
      expect((await call(em, '/rest/v1/leads.json?filterType=id&filterValues=1&nextPageToken=XYZ', { token: t })).body.errors).toEqual([{ code: '1003', message: 'Invalid next page token' }]);
    });

    it('normalises dot-segments and double slashes', async () => {
      const r = await call(em, '/bulk/../rest/v1//leads/partitions.json');
      expect(r.body.success).toBe(true);
      expect(errorCode((await call(em, '/rest/../bulk/v1/nothing.json')).body)).toBe('610');
    });

    it('_method=GET tunnels a query in a form body; _method=DELETE is the legacy lead delete', async () => {
      const t = await token(em);
      const created = await call(em, '/rest/v1/leads.json', { token: t, json: { input: [{ email: 'tunnel@example.com' }, { email: 'gone@example.com' }] } });
      const [a, b] = (created.body.result ?? []).map((x) => x.id as number);
      const got = await call(em, '/rest/v1/leads.json?_method=GET', { token: t, form: { filterType: 'email', filterValues: 'tunnel@example.com', fields: 'email' } });
      expect(got.body.result).toEqual([{ id: a, email: 'tunnel@example.com' }]);
      const inBody = await call(em, '/rest/v1/leads.json', { token: t, form: { _method: 'GET', filterType: 'id', filterValues: String(a) } });
      expect(inBody.body.result?.[0]?.id).toBe(a);
      const del = await call(em, '/rest/v1/leads.json?_method=DELETE', { token: t, json: { input: [{ id: b }] } });
      expect(del.body.result).toEqual([{ id: b, status: 'deleted' }]);
    });

    it('URI over 8 KB → 414, body over 1 MB → 413', async () => {
      const t = await token(em);
      const long = await fetch(`${em.url}/rest/v1/leads.json?filterType=email&filterValues=${'a'.repeat(9000)}`, { headers: { Authorization: `Bearer ${t}` } });
      expect(long.status).toBe(414);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${em.url}/rest/v1/leads.json`, { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json', 'Content-Length': 2 * 1024 * 1024 } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(413);
    });

    it('asset API envelope keeps errors/warnings and warns when nothing matches', async () => {
      const r = await call(em, '/rest/asset/v1/programs.json');
      expect(r.body).toEqual({ success: true, errors: [], requestId: expect.any(String), warnings: ['No assets found for the given search criteria.'] });
    });
  });
});

describe('emulator limits', () => {
  it('606 with the exact text once the sliding window is full, and the window slides', async () => {
    let now = Date.parse('2026-03-07T12:00:00Z');
    const em = await start({ now: () => now, limits: { rateLimitCalls: 3, rateWindowMs: 2000 } });
    try {
      const t = await token(em);
      // Not counted: identity, 601 (bad token), 605 (wrong verb). Counted: 609 (bad JSON) like any served call.
      await token(em);
      expect(errorCode((await call(em, '/rest/v1/leads/partitions.json', { token: 'bad:int' })).body)).toBe('601');
      expect(errorCode((await call(em, '/rest/v1/leads/partitions.json', { token: t, method: 'DELETE' })).body)).toBe('605');
      expect(errorCode((await call(em, '/rest/v1/leads.json', { token: t, method: 'POST', headers: { 'Content-Type': 'application/json' }, form: { a: '{' } })).body)).toBe('609');
      for (let i = 0; i < 2; i++) expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.success).toBe(true);
      const limited = await call(em, '/rest/v1/leads/partitions.json', { token: t });
      expect(limited.body.errors).toEqual([{ code: '606', message: "Max rate limit '3' exceeded with in '2' secs" }]);
      now += 2001;
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.success).toBe(true);
    } finally {
      await em.close();
    }
  });

  it('615 when more calls are in flight than allowed', async () => {
    // The latency holds each admitted call in flight long enough for all four to overlap.
    const em = await start({ latencyMs: 500, limits: { maxConcurrent: 2 } });
    try {
      const t = await token(em);
      const results = await Promise.all([0, 1, 2, 3].map(() => call(em, '/rest/v1/leads/partitions.json', { token: t })));
      const codes = results.map((r) => errorCode(r.body) ?? 'ok').sort();
      expect(codes).toEqual(['615', '615', 'ok', 'ok']);
      expect(results.find((r) => errorCode(r.body) === '615')?.body.errors?.[0]?.message).toBe("Concurrent access limit '2' reached");
    } finally {
      await em.close();
    }
  });

  it('607 when the daily quota is used up, reset at midnight America/Chicago', async () => {
    // 05:59 UTC on 2026-03-07 is 23:59 CST on 03-06; 06:00 UTC is midnight Central.
    let now = Date.parse('2026-03-07T05:59:00Z');
    const em = await start({ now: () => now, limits: { dailyQuota: 2 } });
    try {
      const t = await token(em);
      await call(em, '/rest/v1/leads/partitions.json', { token: t });
      await call(em, '/rest/v1/leads/partitions.json', { token: t });
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.errors).toEqual([{ code: '607', message: 'Daily quota reached' }]);
      now = Date.parse('2026-03-07T06:00:01Z');
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.success).toBe(true);
    } finally {
      await em.close();
    }
  });
});

describe('emulator faults', () => {
  it('next-N code faults, HTTP 502, connection reset, then normal service', async () => {
    const em = await start({ faults: [{ path: '/rest/v1/leads/partitions.json', code: '608', count: 2 }] });
    try {
      const t = await token(em);
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.errors).toEqual([{ code: '608', message: 'API Temporarily Unavailable' }]);
      expect(errorCode((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body)).toBe('608');
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.success).toBe(true);

      await fetch(`${em.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ httpStatus: 502, count: 1 }) });
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).status).toBe(502);
      await fetch(`${em.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ reset: true, count: 1 }) });
      await expect(call(em, '/rest/v1/leads/partitions.json', { token: t })).rejects.toThrow();
      expect((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body.success).toBe(true);
      const calls = (await (await fetch(`${em.url}/_emulator/calls`)).json()) as { endpoints: Record<string, { errors: Record<string, number> }> };
      expect(calls.endpoints['GET /rest/v1/leads/partitions.json']?.errors).toEqual({ '608': 2, '502': 1, reset: 1 });
    } finally {
      await em.close();
    }
  });

  it('rate-based faults repeat exactly with the same seed', async () => {
    const pattern = async (): Promise<string> => {
      const em = await start({ faults: [{ code: '606', rate: 0.5 }], faultSeed: 7 });
      try {
        const t = await token(em);
        let out = '';
        for (let i = 0; i < 12; i++) out += errorCode((await call(em, '/rest/v1/leads/partitions.json', { token: t })).body) === '606' ? 'x' : '.';
        return out;
      } finally {
        await em.close();
      }
    };
    const a = await pattern();
    expect(a).toMatch(/x/);
    expect(a).toMatch(/\./);
    expect(await pattern()).toBe(a);
  });
});
