import { Writable } from 'node:stream';
import { createLogger, secretsFromEnv } from '../../src/observability/logger.js';

/** A logger whose JSON lines are kept in memory, exactly as they would be written to stderr. */
function captured(secrets: string[] = []) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ service: 'test', level: 'debug', secrets }, sink);
  return { log, text: () => lines.join('\n'), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const CLIENT_SECRET = 'sEcReT-client-7f3a9';
const WEBHOOK_SECRET = 'hook-secret-0b1c2d3e';
const DB_PASSWORD = 'pg-pass-55aa';

test('secrets from the environment never reach a line, whatever key or text carries them', () => {
  const secrets = secretsFromEnv({
    MARKETO_CLIENT_SECRET: CLIENT_SECRET,
    WEBHOOK_SECRET,
    DATABASE_URL: `postgres://sync:${DB_PASSWORD}@db:5432/sync`,
  });
  const { log, text, records } = captured(secrets);
  log.info({ clientSecret: CLIENT_SECRET, headers: { authorization: 'Bearer abc.def.ghi', 'x-webhook-secret': WEBHOOK_SECRET } }, 'token request');
  log.warn({ databaseUrl: `postgres://sync:${DB_PASSWORD}@db:5432/sync`, note: `configured with ${CLIENT_SECRET}` }, `connecting to postgres://sync:${DB_PASSWORD}@db/sync`);
  log.info({ url: 'https://123-ABC-456.mktorest.com/identity/oauth/token?grant_type=client_credentials&client_id=x&client_secret=abc123' }, 'GET');
  log.error({ err: Object.assign(new Error(`auth failed for access_token=tok_999 using ${WEBHOOK_SECRET}`), { code: '601' }) }, 'marketo call failed');
  const out = text();
  for (const s of [CLIENT_SECRET, WEBHOOK_SECRET, DB_PASSWORD, 'abc.def.ghi', 'tok_999', 'client_secret=abc123']) expect(out).not.toContain(s);
  // What operators need is still there: ids, codes, hosts, messages.
  const [first, second, , fourth] = records();
  expect(first).toMatchObject({ level: 'info', service: 'test', msg: 'token request', clientSecret: '[redacted]' });
  expect(second!.msg).toBe('connecting to postgres://sync:***@db/sync');
  expect(fourth).toMatchObject({ err: { code: '601', type: 'Error' } });
  expect(String((fourth!.err as { message: string }).message)).toContain('auth failed');
});

test('lead field values are replaced; ids and counts stay', () => {
  const { log, text, records } = captured();
  log.info({ leadId: 1234, email: 'jane.doe@example.com', firstName: 'Jane', lastName: 'Doe', count: 3 }, 'lead written');
  log.info({ records: [{ id: 1, email: 'a@b.io', favoriteColor: 'teal' }], written: 1 }, 'batch');
  log.info({ reason: "duplicate value for 'email': bob@corp.example" }, 'upsert failed for bob@corp.example');
  const out = text();
  for (const v of ['jane.doe@example.com', 'Jane', 'Doe', 'a@b.io', 'teal', 'bob@corp.example']) expect(out).not.toContain(v);
  const [lead, batch, failed] = records();
  expect(lead).toMatchObject({ leadId: 1234, count: 3, email: '[redacted]', firstName: '[redacted]' });
  expect(batch).toMatchObject({ records: '[redacted]', written: 1 });
  expect(failed!.msg).toBe('upsert failed for [email]');
});
