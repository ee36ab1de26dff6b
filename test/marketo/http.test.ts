import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttp, endpointLabel, encodeQuery, prepareRequest, send } from '../../src/marketo/http.js';

describe('request building', () => {
  it('joins arrays with commas and drops undefined values', () => {
    expect(encodeQuery({ filterType: 'id', filterValues: [1, 2, 3], fields: undefined, x: true }).toString()).toBe('filterType=id&filterValues=1%2C2%2C3&x=true');
  });

  it('keeps short GETs as GETs', () => {
    const p = prepareRequest('http://127.0.0.1:1/', { method: 'GET', path: '/rest/v1/leads.json', query: { filterType: 'id', filterValues: [1] } });
    expect(p).toEqual({ method: 'GET', url: 'http://127.0.0.1:1/rest/v1/leads.json?filterType=id&filterValues=1', tunnelled: false });
  });

  it('tunnels a GET whose URL would pass the limit as POST ?_method=GET with a form body', () => {
    const values = Array.from({ length: 300 }, (_, i) => `someone.with.a.long.address.${i}@example.com`);
    const p = prepareRequest('http://127.0.0.1:1', { method: 'GET', path: '/rest/v1/leads.json', query: { filterType: 'email', filterValues: values } });
    expect(p.method).toBe('POST');
    expect(p.tunnelled).toBe(true);
    expect(p.url).toBe('http://127.0.0.1:1/rest/v1/leads.json?_method=GET');
    expect(p.body).toEqual({ kind: 'form', value: { filterType: 'email', filterValues: values.join(',') } });
  });

  it('labels endpoints with ids replaced', () => {
    expect(endpointLabel({ method: 'GET', path: '/rest/v1/lead/318581.json' })).toBe('GET /rest/v1/lead/{id}.json');
    expect(endpointLabel({ method: 'POST', path: '/rest/v1/leads/12/merge.json' })).toBe('POST /rest/v1/leads/{id}/merge.json');
    // Export ids are UUIDs: one label for every job's status call, not a new one per job.
    expect(endpointLabel({ method: 'GET', path: '/bulk/v1/leads/export/0f8c1a52-3b7e-4d2a-9c61-5e4f7a8b9c0d/status.json' })).toBe('GET /bulk/v1/leads/export/{exportId}/status.json');
    expect(endpointLabel({ method: 'POST', path: '/bulk/v1/activities/export/0F8C1A52-3B7E-4D2A-9C61-5E4F7A8B9C0D/enqueue.json' })).toBe('POST /bulk/v1/activities/export/{exportId}/enqueue.json');
  });
});

describe('connection resets', () => {
  let server: Server;
  let base: string;
  let resetsLeft = 0;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      // What a server closing a kept-alive socket as the request arrives looks like to the client.
      if (resetsLeft > 0) {
        resetsLeft -= 1;
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end('{"success":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    requests = 0;
  });
  const http = createHttp({ timeoutMs: 5_000 });
  const call = (spec: Parameters<typeof prepareRequest>[1]) => send(http, prepareRequest(base, spec), {}, 'test');

  it('sends a read once more when its connection is reset before the answer', async () => {
    resetsLeft = 1;
    await expect(call({ method: 'GET', path: '/rest/v1/leads.json' })).resolves.toMatchObject({ statusCode: 200, body: '{"success":true}' });
    expect(requests).toBe(2);
  });

  it('gives up on a read reset twice, as a NETWORK error', async () => {
    resetsLeft = 2;
    await expect(call({ method: 'GET', path: '/rest/v1/leads.json' })).rejects.toMatchObject({ code: 'NETWORK' });
    expect(requests).toBe(2);
  });

  it('never repeats a write whose connection was reset', async () => {
    resetsLeft = 1;
    await expect(call({ method: 'POST', path: '/rest/v1/leads.json', body: { kind: 'json', value: { input: [] } } })).rejects.toMatchObject({ code: 'NETWORK' });
    expect(requests).toBe(1);
    resetsLeft = 0;
  });
});
