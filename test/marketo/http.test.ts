import { endpointLabel, encodeQuery, prepareRequest } from '../../src/marketo/http.js';

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
  });
});
