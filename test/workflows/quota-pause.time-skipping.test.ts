import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { quotaResetAt } from '../../src/marketo/index.js';
import { schemaRefresh, schemaRefreshStatus } from '../../workflows/index.js';
import { createTimeSkippingEnv } from '../support/temporal.js';
import { startHarness, type WorkflowHarness } from './support.js';

// On the time-skipping server: a 607 (daily quota) pauses the workflow on a durable timer until
// 00:00 America/Chicago instead of burning activity retries; hours pass in milliseconds.
let env: TestWorkflowEnvironment;
let h: WorkflowHarness;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  h = await startHarness(env.nativeConnection, { emulator: { limits: { dailyQuota: 10 }, seed: { leads: 5 } } });
  // Another integration spent most of today's calls: a schema refresh (7 calls) runs out after 2.
  for (let i = 0; i < 8; i++) await h.marketo.describe.companies();
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

test('a spent daily quota pauses until the Chicago midnight reset, then the work completes', async () => {
  const startedAt = Date.now();
  const handle = await env.client.workflow.start(schemaRefresh, { taskQueue: h.taskQueue, workflowId: 'quota-pause' });

  let status = await handle.query(schemaRefreshStatus);
  for (let i = 0; i < 100 && status.state !== 'quota-paused'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await handle.query(schemaRefreshStatus);
  }
  expect(status.state).toBe('quota-paused');
  const resetAt = Date.parse(status.quotaPause!.resetAt);
  expect(resetAt).toBe(quotaResetAt(new Date()).getTime());

  // The first pause is one durable timer that lasts until a minute past the reset.
  const history = await handle.fetchHistory();
  const firstTimer = history.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes;
  const timerMs = Number(firstTimer?.startToFireTimeout?.seconds ?? 0) * 1000;
  expect(timerMs).toBeGreaterThanOrEqual(resetAt - startedAt);
  expect(timerMs).toBeLessThanOrEqual(resetAt - startedAt + 61_000);

  // The test server skips the workflow's timers at once, so until Marketo's day turns over the
  // workflow keeps finding the quota spent. Move the emulator's clock past its midnight.
  h.emulator.runtime.clock.advance(resetAt - Date.now() + 5 * 60_000);
  const summary = await handle.result();
  expect(summary.objects.map((o) => o.object)).toContain('lead');
  expect((await handle.query(schemaRefreshStatus)).state).toBe('done');
});
