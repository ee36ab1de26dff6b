/**
 * Acceptance benchmark for the client's limiter: against the emulator with Marketo's limits scaled down 10×
 * in time (100 calls per sliding 2 s window, 10 concurrent, enforced on both sides), drive 2,000 calls as
 * fast as the client allows and report the achieved rate as a ratio of the limit (goal ≥ 0.95) and the
 * 606/615 errors the emulator returned (goal 0).
 *
 *   npx tsx bench/client-rate.ts [--calls 2000] [--latency 25]
 *   npx tsx bench/client-rate.ts --workers 2     # N clients sharing one PostgresRateLimiter (DATABASE_URL
 *                                                # or a throwaway local cluster), as several workers would
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmulator } from '../emulator/index.js';
import { MarketoClient, MarketoApiError, PostgresRateLimiter, type RateLimiter } from '../src/marketo/index.js';
import { ensureLocalPostgres } from '../src/services/local-postgres.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    latency: { type: 'string', default: '25' },
    workers: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const LATENCY_MS = Number(values.latency);
/** Undefined: one client with the in-process limiter. N: N clients sharing a PostgresRateLimiter. */
const WORKERS = values.workers === undefined ? undefined : Number(values.workers);
const LIMITS = { callsPerWindow: 100, windowMs: 2_000, maxConcurrent: 10 };

interface CallStatsSnapshot {
  total: number;
  endpoints: Record<string, { calls: number; counted: number; errors: Record<string, number> }>;
}

async function main(): Promise<void> {
  const emulator = await startEmulator({
    clientId: 'bench',
    clientSecret: 'bench-secret',
    latencyMs: LATENCY_MS,
    limits: { rateLimitCalls: LIMITS.callsPerWindow, rateWindowMs: LIMITS.windowMs, maxConcurrent: LIMITS.maxConcurrent, dailyQuota: 1_000_000 },
    seed: { leads: 50 },
  });
  try {
    const shared = WORKERS === undefined ? undefined : await sharedLimiters(WORKERS);
    cleanups.push(async () => shared?.close());
    const clients = (shared?.limiters ?? [undefined]).map(
      (limiter: RateLimiter | undefined) =>
        new MarketoClient({
          baseUrl: emulator.url,
          clientId: 'bench',
          clientSecret: 'bench-secret',
          limits: { ...LIMITS, dailyCalls: 1_000_000 },
          ...(limiter ? { limiter } : {}),
        }),
    );
    const client = clients[0]!;
    const completions: number[] = [];
    const clientErrors: Record<string, number> = {};
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CALLS }, async (_, i) => {
        try {
          await clients[i % clients.length]!.leads.getById((i % 50) + 1, ['id', 'email']);
        } catch (err) {
          const code = err instanceof MarketoApiError ? err.code : 'other';
          clientErrors[code] = (clientErrors[code] ?? 0) + 1;
        }
        completions.push(performance.now());
      }),
    );
    const elapsedMs = performance.now() - t0;

    const stats = (await (await fetch(`${emulator.url}/_emulator/calls`)).json()) as CallStatsSnapshot;
    let rate606 = 0;
    let rate615 = 0;
    for (const e of Object.values(stats.endpoints)) {
      rate606 += e.errors['606'] ?? 0;
      rate615 += e.errors['615'] ?? 0;
    }

    const limitPerSec = (LIMITS.callsPerWindow / LIMITS.windowMs) * 1000;
    const achievedPerSec = CALLS / (elapsedMs / 1000);
    // The first window is a free burst under any sliding-window limit; the sustained rate is measured over
    // the remaining calls, from the first window's completion to the last call's completion.
    completions.sort((a, b) => a - b);
    const firstWindowDone = completions[LIMITS.callsPerWindow - 1]!;
    const sustainedPerSec = (CALLS - LIMITS.callsPerWindow) / ((completions[CALLS - 1]! - firstWindowDone) / 1000);
    const result = {
      calls: CALLS,
      limiter: WORKERS === undefined ? 'in-process' : `PostgresRateLimiter shared by ${WORKERS} clients`,
      emulatorLatencyMs: LATENCY_MS,
      limit: { ...LIMITS, callsPerSecond: limitPerSec },
      elapsedMs: Math.round(elapsedMs),
      achievedCallsPerSecond: round(achievedPerSec),
      sustainedCallsPerSecond: round(sustainedPerSec),
      ratioOfLimit: round(sustainedPerSec / limitPerSec),
      ratioOfLimitIncludingFirstBurst: round(achievedPerSec / limitPerSec),
      emulator606: rate606,
      emulator615: rate615,
      emulatorCalls: stats.total,
      clientErrors,
      clientUsage: client.usage(),
      goal: { ratioOfLimit: '>= 0.95', errors606and615: 0 },
      pass: sustainedPerSec / limitPerSec >= 0.95 && rate606 === 0 && rate615 === 0,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `client-rate (${result.limiter}): ${CALLS} calls in ${(elapsedMs / 1000).toFixed(1)} s, sustained ${result.sustainedCallsPerSecond}/s = ` +
        `${(result.ratioOfLimit * 100).toFixed(1)} % of the ${limitPerSec}/s limit; emulator returned ${rate606}×606, ${rate615}×615 → ${result.pass ? 'PASS' : 'FAIL'}`,
    );
    if (!result.pass) process.exitCode = 1;
  } finally {
    for (const c of cleanups.reverse()) await c();
    await emulator.close();
  }
}

const cleanups: (() => Promise<void>)[] = [];

/** N limiters on one database and key, each with its own pool: N workers as far as the limiter can tell. */
async function sharedLimiters(n: number): Promise<{ limiters: PostgresRateLimiter[]; close(): Promise<void> }> {
  let url = process.env.DATABASE_URL;
  let stopPostgres: (() => Promise<void>) | undefined;
  if (!url) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'client-rate-pg-'));
    const local = await ensureLocalPostgres({ dataDir });
    url = local.url;
    stopPostgres = async () => {
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const pools = Array.from({ length: n }, () => new pg.Pool({ connectionString: url, max: 4 }));
  const key = `bench-${process.pid}-${Date.now()}`;
  const limiters = await Promise.all(pools.map((pool) => PostgresRateLimiter.create({ pool, key, limits: { ...LIMITS, dailyCalls: 1_000_000 } })));
  return {
    limiters,
    close: async () => {
      await Promise.all(limiters.map((l) => l.close()));
      await Promise.all(pools.map((p) => p.end()));
      await stopPostgres?.();
    },
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await main();
