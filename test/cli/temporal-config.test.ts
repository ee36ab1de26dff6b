import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env.js';
import { temporalConnectionSettings } from '../../client/runtime/temporal-connection.js';
import { runCli } from './support.js';

// Temporal Cloud and secured servers: the environment is checked before anything connects (there
// is no Cloud to reach from here), and the settings handed to both connections carry the files' bytes.
let dir: string;
let cert: string;
let key: string;
let ca: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-config-'));
  [cert, key, ca] = ['client.pem', 'client.key', 'ca.pem'].map((f) => path.join(dir, f)) as [string, string, string];
  writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
  writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('search attributes at start: on by default, TEMPORAL_SEARCH_ATTRIBUTES=false turns them off, anything else is refused', () => {
  expect(loadConfig({}).temporal.searchAttributes).toBe(true);
  expect(loadConfig({ TEMPORAL_SEARCH_ATTRIBUTES: 'false' }).temporal.searchAttributes).toBe(false);
  expect(() => loadConfig({ TEMPORAL_SEARCH_ATTRIBUTES: 'no' })).toThrow(/TEMPORAL_SEARCH_ATTRIBUTES/);
});

const CLOUD = { TEMPORAL_ADDRESS: 'payments.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'payments.a1b2c' };

test('nothing set: plain gRPC to the embedded dev server', () => {
  const config = loadConfig({});
  expect(config.temporal.auth).toEqual({ tls: false });
  expect(temporalConnectionSettings(config.temporal, '127.0.0.1:7233')).toEqual({ address: '127.0.0.1:7233' });
});

test('mTLS: the certificate pair (and a CA) are read into the TLS settings', () => {
  const config = loadConfig({ ...CLOUD, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_CA_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
  expect(config.temporal.auth).toEqual({ tls: { certPath: cert, keyPath: key, caPath: ca, serverName: 'temporal.internal' } });
  const settings = temporalConnectionSettings(config.temporal, CLOUD.TEMPORAL_ADDRESS);
  expect(settings.apiKey).toBeUndefined();
  expect(Buffer.from(settings.tls!.clientCertPair!.crt).toString()).toContain('client');
  expect(Buffer.from(settings.tls!.clientCertPair!.key).toString()).toContain('PRIVATE KEY');
  expect(Buffer.from(settings.tls!.serverRootCACertificate!).toString()).toContain('ca');
  expect(settings.tls!.serverNameOverride).toBe('temporal.internal');
});

test('API key: TLS on, the key as bearer and the namespace header Cloud routes by', () => {
  const config = loadConfig({ ...CLOUD, TEMPORAL_API_KEY: 'key-123' });
  expect(temporalConnectionSettings(config.temporal, CLOUD.TEMPORAL_ADDRESS)).toEqual({
    address: CLOUD.TEMPORAL_ADDRESS,
    tls: {},
    apiKey: 'key-123',
    metadata: { 'temporal-namespace': 'payments.a1b2c' },
  });
});

test('TEMPORAL_TLS=true alone: server TLS without client credentials', () => {
  expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_TLS: 'true' }).temporal.auth).toEqual({ tls: {} });
});

test.each([
  ['a certificate without its key', { ...CLOUD, TEMPORAL_TLS_CERT_PATH: 'CERT' }, /TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together.*only TEMPORAL_TLS_CERT_PATH is set/],
  ['a key without its certificate', { ...CLOUD, TEMPORAL_TLS_KEY_PATH: 'KEY' }, /go together.*only TEMPORAL_TLS_KEY_PATH is set/],
  ['an API key and a certificate pair', { ...CLOUD, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_CERT_PATH: 'CERT', TEMPORAL_TLS_KEY_PATH: 'KEY' }, /TEMPORAL_API_KEY and the mTLS pair .* set one of them/],
  ['an API key with TLS turned off', { ...CLOUD, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }, /TEMPORAL_TLS=false contradicts/],
  ['credentials for the embedded dev server', { TEMPORAL_API_KEY: 'k' }, /need TEMPORAL_ADDRESS/],
  ['a certificate file that is not there', { ...CLOUD, TEMPORAL_TLS_CERT_PATH: '/nonexistent/client.pem', TEMPORAL_TLS_KEY_PATH: 'KEY' }, /TEMPORAL_TLS_CERT_PATH: no file at \/nonexistent\/client\.pem/],
  ['TEMPORAL_TLS not a boolean', { ...CLOUD, TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS: must be true or false/],
])('refused: %s', (_name, env, message) => {
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === 'CERT' ? cert : v === 'KEY' ? key : v]));
  expect(() => loadConfig(resolved)).toThrow(message);
});

test('a command run with a bad combination stops before connecting, naming the variables', async () => {
  const run = await runCli(['sync', 'status'], { TEMPORAL_API_KEY: 'k', DATA_DIR: dir });
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/invalid configuration:\n.*TEMPORAL_TLS\*\/TEMPORAL_API_KEY need TEMPORAL_ADDRESS/);
}, 120_000);
