import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FaultRuleInput } from '../../emulator/index.js';
import { bulkService } from '../../emulator/bulk/service.js';
import { temporalExecutable } from '../../src/services/temporal-binaries.js';
import { awaitBootstrap, LOAD, loadSummary, MARKETING_FAULTS, startBootstrap, type BootstrapHandle } from '../bootstrap-run.js';
import type { CaseContext, CaseDef, CaseOutcome } from '../case.js';
import { openPushScenario, pushUntilDone, verifyPush } from '../push-run.js';
import { Scenario } from '../scenario.js';
import { syncQuotaWall, syncUnderFault } from '../sync-fault.js';
import type { Host } from '../stack.js';
import { verifyLoad } from '../verify.js';

type BulkFaults = Partial<{
  breakDownloadAfterBytes: number;
  breakDownloads: number;
  queueFull: number;
  corruptDownloads: number;
  malformedRows: number;
  invalidUtf8Rows: number;
  invalidUtf8RowsPerFile: number;
  invalidUtf8Kind: 'leads' | 'activities' | 'programMembers' | 'customObjects';
}>;
/** Bulk settings that shape a fault rather than count its next occurrences: not reported as answers. */
const NOT_COUNTERS = new Set(['breakDownloadAfterBytes', 'invalidUtf8RowsPerFile', 'invalidUtf8Kind']);

interface FaultPlan {
  /** Call-level rules (emulator/faults.ts) added when the load starts. */
  rules?: FaultRuleInput[];
  /** Bulk switches (emulator/bulk) set before the load. */
  bulk?: (scale: number) => BulkFaults & { failExports?: number };
  /** Something done repeatedly while the load runs (e.g. expiring every token). */
  during?: (s: Scenario) => void;
  /** Rows per CRM write and heartbeat of the download (production: 1,000). */
  batchSize?: number;
  /** Time-skipping server instead of the dev server (waits of hours, e.g. a quota reset). */
  timeSkipping?: boolean;
  /** Runs before the worker starts (schema changes, a saved mapping). */
  prepare?: (s: Scenario) => Promise<void>;
  /** Runs after the check, before the scenario closes: more to report, and whether it holds. */
  inspect?: (s: Scenario) => Promise<{ text: string; passed: boolean }>;
}

/** Timeout of one load: generous for the machine's load, short enough that a stuck case ends. */
const loadTimeoutMs = (scale: number) => 180_000 + scale * 20;

/**
 * One bootstrap under a fault: the sync must finish and the reconciliation must find every lead,
 * once, with the same values. The emulator's own counters show what was answered.
 */
export async function bootstrapUnderFault(ctx: CaseContext, id: string, plan: FaultPlan): Promise<CaseOutcome & { answered: Record<string, number> }> {
  let env: TestWorkflowEnvironment | undefined;
  let host: Host = ctx.stack;
  if (plan.timeSkipping) {
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalExecutable('temporal-test-server') } });
    host = { client: env.client, temporalAddress: env.address, bundlePath: ctx.stack.bundlePath, createDatabase: (p) => ctx.stack.createDatabase(p) };
  }
  const s = await Scenario.open(host, {
    leads: ctx.scale, from: LOAD.from, to: LOAD.to, emulator: { bulk: { export: { rowsPerSecond: 0 } } },
    ...(plan.batchSize ? { batchSize: plan.batchSize } : {}),
  });
  let ticker: NodeJS.Timeout | undefined;
  try {
    const bulk = plan.bulk?.(ctx.scale);
    if (bulk) {
      const { failExports, ...switches } = bulk;
      const target = bulkService(s.emulator.subscription);
      Object.assign(target.faults, switches);
      if (failExports !== undefined) target.exports.failNext = failExports;
    }
    await plan.prepare?.(s);
    await s.startWorker('in-process');
    const handle: BootstrapHandle = await startBootstrap(s, `reliability-${id}`);
    for (const rule of plan.rules ?? []) s.emulator.runtime.faults.add(rule);
    if (plan.during) ticker = setInterval(() => plan.during!(s), 400);
    const run = await awaitBootstrap(handle, loadTimeoutMs(ctx.scale));
    clearInterval(ticker);
    const answered = s.errorCounts();
    const left = s.emulator.runtime.faults.list().reduce((n, r) => n + (r.remaining ?? 0), 0);
    const service = bulkService(s.emulator.subscription);
    if (bulk) {
      // Bulk switches count down as they fire: what is left was never reached.
      const now: Record<string, number> = { ...service.faults, failExports: service.exports.failNext } as unknown as Record<string, number>;
      for (const [k, v] of Object.entries(bulk)) if (!NOT_COUNTERS.has(k) && typeof v === 'number') answered[k] = v - (now[k] ?? 0);
    }
    const verdict = await verifyLoad(s, LOAD.since, LOAD.until);
    const codes = Object.entries(answered).map(([c, n]) => `${n}×${c}`).join(', ') || 'no error answers';
    const extra = await plan.inspect?.(s);
    const passed = run.result !== undefined && verdict.lost === 0 && verdict.duplicates === 0 && verdict.differences === 0 && (extra?.passed ?? true);
    return {
      outcome: `${loadSummary(run)}; Marketo answered ${codes}${left ? ` (${left} planned faults not reached)` : ''}; ${verdict.detail}${extra ? `; ${extra.text}` : ''}`,
      lost: verdict.lost,
      duplicates: verdict.duplicates,
      passed,
      answered,
    };
  } finally {
    clearInterval(ticker);
    await s.close();
    await env?.teardown();
  }
}

/** The push steps under the same call-level faults: every CRM contact reaches Marketo once. */
async function pushUnderFault(
  ctx: CaseContext,
  plan: { rules?: FaultRuleInput[]; during?: (s: Scenario) => void; bulkThreshold?: number; failImports?: number },
): Promise<CaseOutcome & { answered: Record<string, number> }> {
  const { rules = [], during, bulkThreshold = 1_000, failImports } = plan;
  const contacts = Math.max(50, Math.min(600, Math.round(ctx.scale / 4)));
  const p = await openPushScenario(ctx.stack, { contacts, bulkThreshold, ...(failImports ? { failImports } : {}) });
  let ticker: NodeJS.Timeout | undefined;
  try {
    for (const rule of rules) p.scenario.emulator.runtime.faults.add(rule);
    if (during) {
      during(p.scenario);
      ticker = setInterval(() => during(p.scenario), 300);
    }
    let run = await pushUntilDone(p, 60);
    clearInterval(ticker);
    const answered = p.scenario.errorCounts();
    p.scenario.clearFaults();
    let v = await verifyPush(p);
    if (run.done && v.ledgered > 0) {
      // Ledgered records are retried by the next cycle's push: run it, as the sync loop would.
      const next = await pushUntilDone(p, 60);
      const before = v.detail;
      v = await verifyPush(p);
      run = { done: next.done, summary: `${run.summary}; first cycle left ${before}; next cycle ${next.summary}` };
    }
    const codes = Object.entries(answered).map(([c, n]) => `${n}×${c}`).join(', ') || 'no error answers';
    return {
      outcome: `${run.summary}; Marketo answered ${codes}; ${v.detail}`,
      lost: v.lost,
      duplicates: v.duplicates,
      passed: run.done && v.lost === 0 && v.duplicates === 0 && v.ledgered === 0,
      answered,
    };
  } finally {
    clearInterval(ticker);
    await p.close();
  }
}

const EVERY_CALL = '/*';

/** Cycles the sync cases run under each fault (each after a round of user changes on both sides). */
const SYNC_ROUNDS = 4;
const SYNC_LOOP_SETUP = `syncLoop (dev server) after a bootstrap and a clean cycle; ${SYNC_ROUNDS} cycles started by syncNow under the fault, each after CRM and Marketo users changed both sides (a contact and a lead created, a few edits, and a mass change of a third of the leads on each side: several calls per push and pull); then faults cleared, a carrying cycle and an idle one`;

const CALL_FAULTS: { key: string; name: string; injected: string; rules: FaultRuleInput[]; during?: (s: Scenario) => void }[] = [
  { key: '606', name: '606 burst', injected: '606 "Max rate limit exceeded" on 50 % of calls, 15 in all', rules: [{ path: EVERY_CALL, code: '606', rate: 0.5, count: 15 }] },
  { key: '615', name: '615 burst', injected: '615 "Concurrent access limit reached" on 50 % of calls, 15 in all', rules: [{ path: EVERY_CALL, code: '615', rate: 0.5, count: 15 }] },
  {
    key: '5xx', name: 'HTTP 5xx', injected: 'nginx 500, 502, 503, 504 pages on 30 % of calls, 4 of each',
    rules: ([500, 502, 503, 504] as const).map((httpStatus) => ({ path: EVERY_CALL, httpStatus, rate: 0.3, count: 4 })),
  },
  {
    key: '604-608-611', name: '604 / 608 / 611', injected: 'timeout 604, unavailable 608, system error 611 on 30 % of calls, 4 of each',
    rules: (['604', '608', '611'] as const).map((code) => ({ path: EVERY_CALL, code, rate: 0.3, count: 4 })),
  },
  { key: 'reset', name: 'connection resets', injected: 'socket destroyed without an answer on 30 % of calls, 10 in all', rules: [{ path: EVERY_CALL, reset: true, rate: 0.3, count: 10 }] },
  { key: 'slow', name: 'slow responses', injected: '+1.5 s latency on 30 % of calls, 20 in all', rules: [{ path: EVERY_CALL, latencyMs: 1_500, rate: 0.3, count: 20 }] },
  {
    key: 'token', name: 'token expiry mid-job', injected: 'every access token expired every 0.4 s while the load runs (602 on next use)', rules: [],
    during: (s) => s.emulator.runtime.tokens.expireAll(),
  },
];

/**
 * The same faults for the sync-loop cases, sparser: a cycle's step that meets a 5xx, a reset or a
 * 604/608/611 fails and Temporal retries it after 5 s, 10 s, 20 s... (the steps' retry policy), so
 * the bootstrap cases' density would hold a few cycles for minutes without proving more.
 * 606/615 fail the attempt too but are retried after their short `nextRetryDelay`; their bursts
 * stay as dense (dense enough to spend a step's 6 attempts: the cycle fails and the next one carries it).
 */
const SYNC_FAULTS: { key: string; name: string; injected: string; rules: FaultRuleInput[]; during?: (s: Scenario) => void; seen: (answered: Record<string, number>, spentRules: number) => boolean }[] = [
  { key: '606', name: '606 burst', injected: '606 "Max rate limit exceeded" on 50 % of calls, 15 in all', rules: [{ path: EVERY_CALL, code: '606', rate: 0.5, count: 15 }], seen: (a) => (a['606'] ?? 0) > 0 },
  { key: '615', name: '615 burst', injected: '615 "Concurrent access limit reached" on 50 % of calls, 15 in all', rules: [{ path: EVERY_CALL, code: '615', rate: 0.5, count: 15 }], seen: (a) => (a['615'] ?? 0) > 0 },
  {
    key: '5xx', name: 'HTTP 5xx', injected: 'nginx 500, 502, 503, 504 pages on 10 % of calls, 1 of each',
    rules: ([500, 502, 503, 504] as const).map((httpStatus) => ({ path: EVERY_CALL, httpStatus, rate: 0.1, count: 1 })),
    seen: (a) => ['500', '502', '503', '504'].some((c) => (a[c] ?? 0) > 0),
  },
  {
    key: '604-608-611', name: '604 / 608 / 611', injected: 'timeout 604, unavailable 608, system error 611 on 10 % of calls, 1 of each',
    rules: (['604', '608', '611'] as const).map((code) => ({ path: EVERY_CALL, code, rate: 0.1, count: 1 })),
    seen: (a) => ['604', '608', '611'].some((c) => (a[c] ?? 0) > 0),
  },
  { key: 'reset', name: 'connection resets', injected: 'socket destroyed without an answer on 10 % of calls, 4 in all', rules: [{ path: EVERY_CALL, reset: true, rate: 0.1, count: 4 }], seen: (a) => (a['reset'] ?? 0) > 0 },
  { key: 'slow', name: 'slow responses', injected: '+1.5 s latency on 30 % of calls, 20 in all', rules: [{ path: EVERY_CALL, latencyMs: 1_500, rate: 0.3, count: 20 }], seen: (_a, spent) => spent > 0 },
  {
    key: 'token', name: 'token expiry mid-job', injected: 'every access token expired every 0.4 s while the cycles run (602 on next use)', rules: [],
    during: (s) => s.emulator.runtime.tokens.expireAll(),
    seen: (a) => (a['601'] ?? 0) + (a['602'] ?? 0) > 0,
  },
];

/** The real sync loop through `rounds` cycles under one of SYNC_FAULTS (by key); it fails too when the fault never reached the loop. */
export function syncLoopUnderFault(ctx: CaseContext, key: string, rounds: number): Promise<CaseOutcome & { answered: Record<string, number> }> {
  const f = SYNC_FAULTS.find((x) => x.key === key);
  if (!f) throw new Error(`no sync fault ${JSON.stringify(key)} (have: ${SYNC_FAULTS.map((x) => x.key).join(', ')})`);
  return syncUnderFault(ctx, f.key, {
    rules: f.rules,
    rounds,
    ...(f.during ? { during: f.during } : {}),
    expect: (answered, spent) => (f.seen(answered, spent) ? undefined : `the fault never reached the loop (${f.key})`),
  });
}

export function faultCases(): CaseDef[] {
  const cases: CaseDef[] = [
    {
      suite: 'fault',
      name: 'normal run (baseline)',
      injected: 'nothing; Marketo limits 100 calls / 2 s window, 10 concurrent',
      run: async (ctx) => noSelfInflicted(await bootstrapUnderFault(ctx, 'baseline', {})),
    },
    {
      suite: 'fault',
      name: 'push steps, normal run (baseline)',
      injected: 'nothing',
      run: async (ctx) => noSelfInflicted(await pushUnderFault(ctx, {})),
    },
  ];
  for (const f of CALL_FAULTS) {
    cases.push({ suite: 'fault', name: `bootstrap: ${f.name}`, injected: f.injected, run: (ctx) => bootstrapUnderFault(ctx, f.key, { rules: f.rules, ...(f.during ? { during: f.during } : {}) }) });
    cases.push({ suite: 'fault', name: `push: ${f.name}`, injected: f.injected, run: (ctx) => pushUnderFault(ctx, { rules: f.rules, ...(f.during ? { during: f.during } : {}) }) });
  }
  cases.push({
    suite: 'fault',
    name: 'sync: normal run (baseline)',
    injected: `nothing; syncLoop through ${SYNC_ROUNDS} cycles with users changing both sides`,
    run: async (ctx) => noSelfInflicted(await syncUnderFault(ctx, 'baseline', { rounds: SYNC_ROUNDS })),
  });
  for (const f of SYNC_FAULTS) {
    cases.push({ suite: 'fault', name: `sync: ${f.name}`, injected: `${SYNC_LOOP_SETUP}; ${f.injected}`, run: (ctx) => syncLoopUnderFault(ctx, f.key, SYNC_ROUNDS) });
  }
  cases.push({
    suite: 'fault',
    name: 'sync: 607 quota wall that lifts',
    injected:
      'syncLoop after a clean cycle; Marketo\'s daily quota (the emulator\'s counter) set 4 calls above what is used, users change both sides, a cycle starts and meets 607 mid-cycle; ' +
      'users change both sides during the pause; the emulator\'s day turns (quota back) and the time-skipping server skips the loop\'s timer to Chicago midnight (on a dev server the pause lasts real hours: syncNow/resume do not cut it short)',
    run: (ctx) => syncQuotaWall(ctx),
  });
  cases.push(
    {
      suite: 'fault',
      name: 'bootstrap: 607 quota wall that lifts',
      injected: 'the next 8 calls of any kind answer 607 "Daily quota reached" (time-skipping server: the pause lasts until Chicago midnight)',
      run: (ctx) => bootstrapUnderFault(ctx, '607', { rules: [{ path: EVERY_CALL, code: '607', count: 8 }], timeSkipping: true }),
    },
    {
      suite: 'fault',
      name: 'bootstrap: 1029 export queue full',
      injected: 'the next 4 enqueues answer 1029 "Too many jobs in queue"',
      run: (ctx) => bootstrapUnderFault(ctx, '1029', { bulk: () => ({ queueFull: 4 }) }),
    },
    {
      suite: 'fault',
      name: 'bootstrap: download cut half way',
      injected: 'the next 3 file downloads lose their connection half way through a window file',
      run: (ctx) => bootstrapUnderFault(ctx, 'cut', { bulk: (scale) => ({ breakDownloadAfterBytes: Math.max(2_000, Math.round((scale / 6) * 100)), breakDownloads: 3 }) }),
    },
    {
      suite: 'fault',
      name: 'bootstrap: checksum mismatch',
      injected: 'the next 2 file downloads carry one changed letter half way (file sha256 ≠ fileChecksum); download batches of 20 rows',
      // Batches of 20 rows: the download heartbeats resume points before and after the changed letter.
      run: (ctx) => bootstrapUnderFault(ctx, 'checksum', { bulk: () => ({ corruptDownloads: 2 }), batchSize: 20 }),
    },
    {
      suite: 'fault',
      name: 'bootstrap: bulk export job fails',
      injected: 'the next 2 export jobs end with status Failed',
      run: (ctx) => bootstrapUnderFault(ctx, 'failed-job', { bulk: () => ({ failExports: 2 }) }),
    },
    {
      suite: 'fault',
      name: 'bootstrap: faults on the marketing calls',
      injected: MARKETING_FAULTS.injected,
      run: (ctx) => bootstrapUnderFault(ctx, 'marketing', { rules: MARKETING_FAULTS.rules }),
    },
    {
      suite: 'fault',
      name: 'push: bulk import batch fails',
      injected: 'the push goes through Bulk Import (threshold 10 records); the next import batch ends Failed',
      run: (ctx) => pushUnderFault(ctx, { bulkThreshold: 10, failImports: 1 }),
    },
  );
  return cases;
}

/** A normal run must not meet Marketo's rate (606) or concurrency (615) limit: the client keeps under them. */
function noSelfInflicted(out: CaseOutcome & { answered: Record<string, number> }): CaseOutcome {
  const hits = (out.answered['606'] ?? 0) + (out.answered['615'] ?? 0);
  return { ...out, outcome: `${out.outcome}; self-inflicted 606/615: ${hits === 0 ? 'none' : hits}`, passed: out.passed && hits === 0 };
}
