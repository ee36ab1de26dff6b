import { MarketoClient } from '../../src/marketo/client.js';
import { z } from 'zod';
import { failureOf } from './support/failure-of.js';
import { startStub, tokenReply, type StubReply, type StubRequest } from './support/stub-server.js';

const creds = { clientId: 'id', clientSecret: 'secret' };

describe('MarketoClient transport (scripted server)', () => {
  let stub: Awaited<ReturnType<typeof startStub>>;
  let route: (r: StubRequest) => StubReply;
  let tokens: number;

  beforeEach(async () => {
    tokens = 0;
    route = () => ({ body: { requestId: 'a#1', success: true, result: [] } });
    stub = await startStub((r) => {
      if (r.url.pathname === '/identity/oauth/token') {
        tokens++;
        return tokenReply(`tok-${tokens}`);
      }
      return route(r);
    });
  });
  afterEach(() => stub.close());

  it('fetches one token for many concurrent calls and sends it as a Bearer header', async () => {
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    await Promise.all(Array.from({ length: 8 }, () => client.leads.getByFilter({ filterType: 'id', filterValues: [1] })));
    expect(tokens).toBe(1);
    const identity = stub.requests.find((r) => r.url.pathname === '/identity/oauth/token')!;
    expect(Object.fromEntries(identity.url.searchParams)).toEqual({ grant_type: 'client_credentials', client_id: 'id', client_secret: 'secret' });
    const api = stub.requests.filter((r) => r.url.pathname === '/rest/v1/leads.json');
    expect(api).toHaveLength(8);
    for (const r of api) {
      expect(r.headers.authorization).toBe('Bearer tok-1');
      expect(r.url.searchParams.get('access_token')).toBeNull();
    }
    expect(client.usage()).toMatchObject({ dailyCalls: 8, tokenFetches: 1, perEndpoint: { 'GET /rest/v1/leads.json': 8 } });
  });

  it.each(['601', '602'])('renews the token and replays the call once on %s', async (code) => {
    let calls = 0;
    route = (r) => {
      calls++;
      return r.headers.authorization === 'Bearer tok-1'
        ? { body: { requestId: 'a#1', success: false, errors: [{ code, message: 'Access token invalid' }] } }
        : { body: { requestId: 'a#2', success: true, result: [{ id: 7, email: 'x@y.z' }] } };
    };
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    expect(await client.leads.getById(7)).toEqual({ id: 7, email: 'x@y.z' });
    expect(calls).toBe(2);
    expect(tokens).toBe(2);
  });

  it('gives up after one replay when the new token is rejected too', async () => {
    route = () => ({ body: { requestId: 'a#1', success: false, errors: [{ code: '601', message: 'Access token invalid' }] } });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const err = await failureOf(client.leads.getById(7));
    expect(err).toMatchObject({ code: '601', requestId: 'a#1', source: 'envelope', endpoint: 'GET /rest/v1/lead/{id}.json' });
    expect(err.classification.action).toBe('reauth');
    expect(tokens).toBe(2);
  });

  it('renews ahead of expiry without waiting for a 602', async () => {
    let now = 1_000_000;
    const clock = { now: () => now, sleep: () => Promise.resolve() };
    const client = new MarketoClient({ baseUrl: stub.url, ...creds, tokenRenewBeforeMs: 60_000, clock });
    await client.leads.getById(1);
    now += 3599_000 - 61_000;
    await client.leads.getById(1);
    expect(tokens).toBe(1);
    now += 2_000;
    await client.leads.getById(1);
    expect(tokens).toBe(2);
    expect(stub.requests.filter((r) => r.headers.authorization === 'Bearer tok-2')).toHaveLength(1);
  });

  it('reports identity 401 with the OAuth description, as give-up', async () => {
    await stub.close();
    stub = await startStub(() => ({ status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } }));
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: 'HTTP_401', httpStatus: 401, source: 'http' });
    expect(err.marketoMessage).toContain('Bad client credentials');
    expect(err.classification.action).toBe('give-up');
  });

  it.each([
    [413, 'HTTP_413', 'give-up'],
    [414, 'HTTP_414', 'give-up'],
    [502, 'HTTP_5XX', 'retry'],
    [503, 'HTTP_5XX', 'retry'],
  ] as const)('classifies HTTP %s without envelope', async (status, code, action) => {
    route = () => ({ status, headers: { 'content-type': 'text/html' }, body: '<html>nginx</html>' });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code, httpStatus: status, source: 'http' });
    expect(err.classification.action).toBe(action);
  });

  it('classifies a reset connection as NETWORK, retryable', async () => {
    route = () => 'reset';
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: 'NETWORK', source: 'network' });
    expect(err.classification.action).toBe('retry');
    expect(client.usage().inFlight).toBe(0);
  });

  it('classifies a client timeout as TIMEOUT', async () => {
    route = () => ({ body: { requestId: 'a#1', success: true, result: [] } });
    await stub.close();
    stub = await startStub(async (r) => {
      if (r.url.pathname === '/identity/oauth/token') return tokenReply();
      await new Promise((res) => setTimeout(res, 500));
      return { body: { requestId: 'a', success: true, result: [] } };
    });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds, timeouts: { requestMs: 100, tokenMs: 1000 } });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: 'TIMEOUT', source: 'network' });
  });

  it('rejects bodies that are not the documented shape as INVALID_RESPONSE, naming the field', async () => {
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    route = () => ({ body: 'not json' });
    expect((await failureOf(client.leads.getById(1))).code).toBe('INVALID_RESPONSE');
    route = () => ({ body: { requestId: 'a#1', success: true, result: [{ id: 'seven' }] } });
    const err = await failureOf(client.leads.getById(1));
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.message).toMatch(/result\[0\]\.id|id/);
    expect(err.classification.action).toBe('give-up');
  });

  it('throws classified envelope errors with requestId', async () => {
    route = () => ({ body: { requestId: 'b#2', success: false, errors: [{ code: '606', message: "Max rate limit '100' exceeded with in '20' secs" }] } });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const err = await failureOf(client.leads.getById(1));
    expect(err).toMatchObject({ code: '606', requestId: 'b#2' });
    expect(err.classification).toMatchObject({ action: 'retry-after', delayMs: 20_000 });
    expect(err.retryable).toBe(true);
  });

  it('streams file downloads with Range, returns 206 and 404 as they are, replays on 601', async () => {
    const file = 'id,email\n1,a@b.c\n2,d@e.f\n';
    let first = true;
    route = (r): StubReply => {
      if (r.url.pathname.includes('missing')) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'File for export job not found' };
      if (first) {
        first = false;
        return { body: { requestId: 'c#1', success: false, errors: [{ code: '601', message: 'Access token invalid' }] } };
      }
      const range = /bytes=(\d+)-(\d+)/.exec(String(r.headers.range));
      const [s, e] = range ? [Number(range[1]), Number(range[2])] : [0, file.length - 1];
      return { status: range ? 206 : 200, headers: { 'content-type': 'text/csv', 'content-range': `bytes ${s}-${e}/${file.length}` }, body: file.slice(s, e + 1) };
    };
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const res = await client.requestStream({ method: 'GET', path: '/bulk/v1/leads/export/abc/file.json', headers: { range: 'bytes=0-8' } });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-8/${file.length}`);
    let text = '';
    for await (const chunk of res.body) text += String(chunk);
    expect(text).toBe('id,email\n');
    const missing = await client.requestStream({ method: 'GET', path: '/bulk/v1/leads/export/missing/file.json' });
    expect(missing.statusCode).toBe(404);
    let msg = '';
    for await (const chunk of missing.body) msg += String(chunk);
    expect(msg).toBe('File for export job not found');
    expect(tokens).toBe(2);
    expect(client.usage().inFlight).toBe(0);
  });

  it('lets other modules parse their own result items through request()', async () => {
    route = () => ({ body: { requestId: 'd#1', success: true, result: [{ exportId: 'e1', status: 'Created' }] } });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const env = await client.request({ method: 'POST', path: '/bulk/v1/leads/export/create.json', body: { kind: 'json', value: { fields: ['id'] } } }, z.object({ exportId: z.string(), status: z.string() }));
    expect(env.result).toEqual([{ exportId: 'e1', status: 'Created' }]);
    const sent = stub.requests.at(-1)!;
    expect(sent.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(sent.body)).toEqual({ fields: ['id'] });
  });

  it('sends multipart bodies (bulk import) with their boundary', async () => {
    route = () => ({ body: { requestId: 'e#1', success: true, result: [{ batchId: 1, status: 'Queued' }] } });
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    const form = new FormData();
    form.set('format', 'csv');
    form.set('file', new Blob(['email\na@b.c\n'], { type: 'text/csv' }), 'leads.csv');
    await client.request({ method: 'POST', path: '/bulk/v1/leads.json', body: { kind: 'multipart', value: form } }, z.unknown());
    const sent = stub.requests.at(-1)!;
    expect(sent.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(sent.body).toContain('filename="leads.csv"');
    expect(sent.body).toContain('a@b.c');
  });

  it('validates options naming the wrong field', () => {
    expect(() => new MarketoClient({ baseUrl: 'http://127.0.0.1:1/rest', ...creds })).toThrow(/baseUrl/);
    expect(() => new MarketoClient({ baseUrl: 'http://127.0.0.1:1', clientId: '', clientSecret: 's' })).toThrow(/clientId/);
    expect(() => new MarketoClient({ baseUrl: 'http://127.0.0.1:1', ...creds, limits: { maxConcurrent: -1 } })).toThrow(/maxConcurrent/);
    expect(() => new MarketoClient({ baseUrl: 'http://127.0.0.1:1', ...creds, extra: 1 } as never)).toThrow(/extra/);
  });

  it('rejects bad endpoint input before any call, naming the field', async () => {
    const client = new MarketoClient({ baseUrl: stub.url, ...creds });
    await expect(client.leads.sync({ input: [] })).rejects.toThrow(/input is empty/);
    await expect(client.leads.sync({ lookupField: 'id', input: [{ id: 1 }] })).rejects.toThrow(/lookupField/);
    await expect(client.leads.sync({ input: [{ firstName: 'no email' }] })).rejects.toThrow(/lookup field 'email' missing in record 0/);
    await expect(client.leads.getByFilter({ filterType: 'id', filterValues: Array.from({ length: 301 }, (_, i) => i) })).rejects.toThrow(/300/);
    await expect(client.activities.get({ nextPageToken: 't', activityTypeIds: [] })).rejects.toThrow(/activityTypeIds/);
    expect(stub.requests).toHaveLength(0);
  });
});
