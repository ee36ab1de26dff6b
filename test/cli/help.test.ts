import { runCli } from './support.js';

// `--help` and argument errors answer from the command definitions alone (the heavy modules load
// inside the actions): no service is configured or reachable here, and none is needed.
const noServices = { TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', MARKETO_BASE_URL: 'http://127.0.0.1:1', MARKETO_CLIENT_ID: 'x', MARKETO_CLIENT_SECRET: 'y' };

test('--help lists every command and exits 0', async () => {
  const run = await runCli(['--help'], noServices);
  expect(run.code).toBe(0);
  for (const name of ['demo', 'worker', 'bootstrap', 'emulator', 'webhook', 'mapping', 'errors', 'usage', 'sync', 'reconcile']) expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
});

test('a bad option value is a usage error (exit 2) naming the option, before anything connects', async () => {
  const badEntity = await runCli(['bootstrap', '--entities', 'leads,nope'], noServices);
  expect(badEntity.code).toBe(2);
  expect(badEntity.stderr).toMatch(/--entities\.1: entities are: /);
  const badInterval = await runCli(['sync', 'start', '--interval', 'soon'], noServices);
  expect(badInterval.code).toBe(2);
  expect(badInterval.stderr).toMatch(/--interval: 'soon' is not a duration/);
  const unknown = await runCli(['sync', 'start', '--bogus'], noServices);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
});
