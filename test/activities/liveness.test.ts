import { MockActivityEnvironment } from '@temporalio/testing';
import { withLiveness, withLivenessAll } from '../../activities/liveness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a step heartbeats while it runs, and stops when it ends', async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const out = await env.run(() => withLiveness(async () => {
    await sleep(500);
    return 'done';
  }, 20));
  expect(out).toBe('done');
  expect(beats).toBeGreaterThanOrEqual(3);
  const after = beats;
  await sleep(100);
  expect(beats).toBe(after);
});

test('a failing step still stops heartbeating, and outside an activity the body just runs', async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  await expect(env.run(() => withLiveness(() => Promise.reject(new Error('boom')), 20))).rejects.toThrow('boom');
  const after = beats;
  await sleep(100);
  expect(beats).toBe(after);
  await expect(withLiveness(() => Promise.resolve(42))).resolves.toBe(42);
});

test('withLivenessAll wraps every activity of a group, arguments and results unchanged', async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const acts = withLivenessAll({ add: (a: number, b: number) => Promise.resolve(a + b), echo: (s: string) => Promise.resolve(s) });
  await expect(env.run(() => acts.add(2, 3))).resolves.toBe(5);
  await expect(env.run(() => acts.echo('x'))).resolves.toBe('x');
  expect(beats).toBeGreaterThanOrEqual(2);
});
