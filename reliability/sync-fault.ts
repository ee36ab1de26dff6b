import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FaultRuleInput } from '../emulator/index.js';
import { temporalExecutable } from '../src/services/temporal-binaries.js';
import type { SyncStatus } from '../workflows/sync-types.js';
import { awaitBootstrap, loadSummary, startBootstrap } from './bootstrap-run.js';
import type { CaseContext, CaseOutcome } from './case.js';
import { Scenario } from './scenario.js';
import type { Host } from './stack.js';
import { BothSidesUsers, describeStatus, startSyncLoop, statusUntil, stopSyncLoop, syncNow, syncStatus, type SyncLoopHandle } from './sync-run.js';
import { duplicateKeys, verifyLoad } from './verify.js';
import { prng } from '../emulator/faults.js';

/**
 * The real `syncLoop` workflow (worker in this process, Temporal dev server) through several cycles
 * while users change both sides and the emulator injects a fault: after the faulted cycles the
 * faults are cleared, one cycle carries what is left and an idle cycle must find nothing to carry.
 * Judged on both directions (every user-created record once on the other side), the
 * reconciliation at zero differences, no duplicate keys and an empty ledger.
 */
export interface SyncFaultPlan {
  /** Call-level rules (emulator/faults.ts) added once the first (clean) cycle finished. */
  rules?: FaultRuleInput[];
  /** Something done every 400 ms while the faulted cycles run (e.g. expiring every token). */
  during?: (s: Scenario) => void;
  /** Cycles run under the fault, each after a round of user changes. */
  rounds: number;
  /** Marketo error answers (codes as the emulator counts them, e.g. `606`, `http502`) that must have been seen: the fault reached the loop. */
  expect?: (answered: Record<string, number>, spentRules: number) => string | undefined;
}

/** Leads seeded before the loop: the cycles, not the bootstrap, are under test. */
export const syncFaultLeads = (scale: number) => Math.max(100, Math.min(2_000, scale));

/** Records each side's users change in bulk before a faulted cycle: a third of the leads (650 at 2,000), several calls a step. */
export const massEdits = (leads: number) => Math.round(leads / 3);

const INTERVAL_SECONDS = 600;
const STALL_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function windowOfLeads(): { from: string; to: string } {
  const nowMs = Date.now();
  // Leads from the 20 days before now: the loop continues from the bootstrap's end (now).
  return { from: new Date(nowMs - 20 * 86_400_000).toISOString(), to: new Date(nowMs - 3_600_000).toISOString() };
}

async function openSyncScenario(host: Host, leads: number): Promise<{ s: Scenario; from: string }> {
  const { from, to } = windowOfLeads();
  const s = await Scenario.open(host, { leads, from, to, emulator: { bulk: { export: { rowsPerSecond: 0 }, import: { rowsPerSecond: 0 } } } });
  // The lookup field the push writes each CRM person's id to.
  s.emulator.subscription.addLeadField({ name: 'crmId', displayName: 'CRM Id', dataType: 'string', length: 40, updateable: true, searchable: true });
  return { s, from };
}

/**
 * Users change both sides, then one cycle by `syncNow` (after Marketo's second has turned); returns
 * the finished cycle's status. `mass` adds a CRM mass update and a Marketo change of that many
 * records, so the push and the pull by id need several calls and a fault can fall between them.
 */
async function cycleAfterRound(handle: SyncLoopHandle, users: BothSidesUsers | undefined, mass = 0, timeoutMs = STALL_MS): Promise<{ ok: boolean; last: SyncStatus | undefined }> {
  const before = await statusUntil(handle, (st) => st.state === 'sleeping', timeoutMs);
  if (!before.ok) return before;
  await users?.round();
  if (users && mass > 0) {
    await users.crmMassEdit(mass);
    users.marketoMassEdit(mass);
  }
  await sleep(1_100);
  const mark = before.last!.lastCycle?.number ?? 0;
  await syncNow(handle);
  return statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) > mark, timeoutMs);
}

function cycleLine(st: SyncStatus | undefined): string {
  const c = st?.lastCycle;
  if (!c) return 'no cycle';
  const moved = c.steps.filter((f) => f.written > 0 || f.skipped > 0).map((f) => `${f.step} ${f.written}${f.skipped ? `+${f.skipped} ledgered` : ''}`);
  return `cycle ${c.number} ${c.outcome}${c.error ? ` (${c.error.slice(0, 120)})` : ''}: ${moved.join(', ') || 'nothing moved'}`;
}

/** The end of every case: an idle cycle, the loop stopped, both directions and the reconciliation checked. */
async function settleAndCheck(s: Scenario, handle: SyncLoopHandle, users: BothSidesUsers, from: string, until: string, problems: string[]) {
  // What the faulted cycles left is carried now; the cycle after must find nothing.
  const carry = await cycleAfterRound(handle, undefined, 0);
  if (!carry.ok) problems.push(`the cycle after the fault did not finish: ${describeStatus(carry.last)}`);
  const idleRun = carry.ok ? await cycleAfterRound(handle, undefined, 0) : carry;
  const c = idleRun.last?.lastCycle;
  let idle = 'no idle cycle';
  if (!idleRun.ok || !c) problems.push(`the idle cycle did not finish: ${describeStatus(idleRun.last)}`);
  else {
    const moved = c.steps.filter((f) => f.written > 0 || f.skipped > 0);
    idle = `idle cycle ${c.number} ${c.outcome}: ${moved.length ? `still moving ${moved.map((f) => `${f.step} ${f.written}+${f.skipped}`).join(', ')}` : 'nothing to carry'}`;
    if (c.outcome !== 'succeeded' || moved.length) problems.push(idle);
  }
  const stopped = await stopSyncLoop(handle, 60_000);
  const history = await s.store.cycles.recent(500);
  const failed = history.filter((h) => h.status === 'failed');
  const why = [...new Set(failed.map((h) => (h.error ?? h.status).slice(0, 160)))];
  const sides = await users.check();
  const verdict = await verifyLoad(s, from, until);
  const keys = await duplicateKeys(s.crm.pool);
  const ledger = await s.store.errors.list({ status: 'open' });
  const codes = [...new Set(ledger.map((e) => e.code))].join(', ');
  const u = users.counts;
  const lost = verdict.lost + sides.lost;
  const duplicates = Math.max(verdict.duplicates, keys.total) + sides.duplicates;
  const text =
    `${history.length} cycles (${failed.length} failed${why.length ? `: ${why.join(' / ')}` : ''}); users: ${u.crmCreates} CRM creates, ${u.crmEdits} CRM edits, ${u.marketoCreates} Marketo creates, ${u.marketoEdits} Marketo edits; ` +
    `${cycleLine(carry.last)}; ${idle}; ${stopped}; ${sides.detail}; ${verdict.detail}; ledger ${ledger.length}${codes ? ` (${codes})` : ''}`;
  return { text, lost, duplicates, clean: lost === 0 && duplicates === 0 && verdict.differences === 0 && ledger.length === 0 };
}

export async function syncUnderFault(ctx: CaseContext, id: string, plan: SyncFaultPlan): Promise<CaseOutcome & { answered: Record<string, number> }> {
  const leads = syncFaultLeads(ctx.scale);
  const { s, from } = await openSyncScenario(ctx.stack, leads);
  const problems: string[] = [];
  const random = prng(leads + id.length);
  let users: BothSidesUsers | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    await s.startWorker('in-process');
    const boot = await awaitBootstrap(await startBootstrap(s, `reliability-sync-fault-boot-${id}`, undefined, { since: from }), 180_000 + leads * 50);
    if (!boot.result) return { outcome: `bootstrap before the loop: ${loadSummary(boot)}`, lost: null, duplicates: null, passed: false, answered: {} };
    users = await BothSidesUsers.open(s, random);
    const handle = await startSyncLoop(s, `reliability-sync-fault-${id}`, INTERVAL_SECONDS);
    // A first, clean cycle: the loop's start position and schema are in place before the fault.
    const first = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) >= 1, STALL_MS);
    if (!first.ok) problems.push(`the first cycle did not finish: ${describeStatus(first.last)}`);
    const rules = (plan.rules ?? []).map((r) => s.emulator.runtime.faults.add(r));
    const planned = rules.reduce((n, r) => n + (r.count ?? 0), 0);
    if (plan.during) {
      plan.during(s);
      ticker = setInterval(() => plan.during!(s), 400);
    }
    const faulted: string[] = [];
    for (let r = 0; r < plan.rounds && problems.length === 0; r++) {
      const run = await cycleAfterRound(handle, users, massEdits(leads));
      if (!run.ok) problems.push(`faulted cycle ${r + 1} did not finish within ${STALL_MS / 1000} s: ${describeStatus(run.last)}`);
      faulted.push(cycleLine(run.last));
    }
    clearInterval(ticker);
    const answered = s.errorCounts();
    const left = s.emulator.runtime.faults.list().reduce((n, r) => n + (r.remaining ?? 0), 0);
    s.clearFaults();
    const seen = plan.expect?.(answered, planned - left);
    if (seen) problems.push(seen);
    const end = await settleAndCheck(s, handle, users, from, new Date(Date.now() + 60_000).toISOString(), problems);
    const codes = Object.entries(answered).map(([c, n]) => `${n}×${c}`).join(', ') || 'no error answers';
    return {
      outcome:
        `bootstrap of ${leads} leads ${loadSummary(boot)}; ${plan.rounds} cycles under the fault: ${faulted.join('; ')}; Marketo answered ${codes}${left ? ` (${left} planned faults not reached)` : ''}; ` +
        `${end.text}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ''}`,
      lost: end.lost,
      duplicates: end.duplicates,
      passed: problems.length === 0 && end.clean,
      answered,
    };
  } finally {
    clearInterval(ticker);
    await users?.close();
    await s.close();
  }
}

/**
 * Marketo's daily quota runs out in the middle of a cycle (the emulator's real quota counter,
 * set a few calls above what is used): the step's 607 pauses the loop on a durable timer until
 * Chicago midnight, with the reason in `status`. Users change both sides during the pause. The
 * emulator's clock is moved past midnight (its day turns, the quota is back: the wall lifts) and
 * the time-skipping server skips the loop's timer to the same point (a dev server would hold the
 * loop for real hours: neither `syncNow` nor `resume` cuts a quota pause short). The paused step
 * runs again, and the next cycles carry every change.
 */
export async function syncQuotaWall(ctx: CaseContext): Promise<CaseOutcome & { answered: Record<string, number> }> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalExecutable('temporal-test-server') } });
  const host: Host = { client: env.client, temporalAddress: env.address, bundlePath: ctx.stack.bundlePath, createDatabase: (p) => ctx.stack.createDatabase(p) };
  const leads = syncFaultLeads(ctx.scale);
  const { s, from } = await openSyncScenario(host, leads);
  const problems: string[] = [];
  let users: BothSidesUsers | undefined;
  try {
    await s.startWorker('in-process');
    const boot = await awaitBootstrap(await startBootstrap(s, 'reliability-sync-607-boot', undefined, { since: from }), 180_000 + leads * 50);
    if (!boot.result) return { outcome: `bootstrap before the loop: ${loadSummary(boot)}`, lost: null, duplicates: null, passed: false, answered: {} };
    users = await BothSidesUsers.open(s, prng(607));
    const handle = await startSyncLoop(s, 'reliability-sync-607', INTERVAL_SECONDS);
    const first = await cycleAfterRound(handle, users, massEdits(leads));
    if (!first.ok) problems.push(`the cycle before the wall did not finish: ${describeStatus(first.last)}`);
    // The wall: another integration spent today's calls but 4.
    const limiter = s.emulator.runtime.limiter;
    const quota = limiter.config as { dailyQuota: number };
    const dailyQuota = quota.dailyQuota;
    quota.dailyQuota = limiter.snapshot().quotaUsed + 4;
    const where = () => `emulator day ${limiter.snapshot().quotaDay}, ${limiter.snapshot().quotaUsed}/${quota.dailyQuota} calls, clock ${new Date(s.emulator.runtime.clock.now()).toISOString()}`;
    ctx.log(`  wall set: ${where()}`);
    await users.round();
    await users.crmMassEdit(massEdits(leads));
    users.marketoMassEdit(massEdits(leads));
    await sleep(1_100);
    const mark = first.last?.lastCycle?.number ?? 0;
    await syncNow(handle);
    const paused = await statusUntil(handle, (st) => st.state === 'quota-paused', STALL_MS);
    let pause = 'never paused';
    if (!paused.ok || !paused.last?.quotaPause) problems.push(`the loop did not pause on the wall: ${describeStatus(paused.last)}`);
    else {
      const p = paused.last.quotaPause;
      pause = `cycle ${paused.last.cycles} quota-paused in step ${paused.last.step?.seed} ${paused.last.step?.activity} until ${p.resetAt} ("${p.reason}")`;
      // Changes made while the loop waits.
      await users.round();
      const answeredAtWall = s.errorCounts()['607'] ?? 0;
      // Marketo's day turns: the emulator's quota is back, and the loop's timer is skipped past the reset.
      const toResetMs = Date.parse(p.resetAt) - Date.now();
      ctx.log(`  ${pause}; ${where()}`);
      // Tomorrow has the whole quota again (today's limit was lowered to stand for calls another integration spent).
      quota.dailyQuota = dailyQuota;
      s.emulator.runtime.clock.advance(toResetMs + 5 * 60_000);
      await env.sleep(toResetMs + 2 * 60_000);
      ctx.log(`  timer skipped: ${where()}; ${describeStatus(await syncStatus(handle))}`);
      const resumed = await statusUntil(handle, (st) => st.state === 'sleeping' && (st.lastCycle?.number ?? 0) > mark, STALL_MS);
      if (!resumed.ok) problems.push(`the paused cycle did not finish after the reset: ${describeStatus(resumed.last)}`);
      else pause += `; ${answeredAtWall}×607 at the wall, then after the reset ${cycleLine(resumed.last)}`;
    }
    // Never left lowered (a case that did not pause must still be checkable).
    quota.dailyQuota = dailyQuota;
    const more = await cycleAfterRound(handle, users, massEdits(leads));
    if (!more.ok) problems.push(`the cycle after the reset did not finish: ${describeStatus(more.last)}`);
    const answered = s.errorCounts();
    if (!(answered['607'] ?? 0)) problems.push('Marketo never answered 607');
    const until = new Date(s.emulator.runtime.clock.now() + 60_000).toISOString();
    const end = await settleAndCheck(s, handle, users, from, until, problems);
    const codes = Object.entries(answered).map(([c, n]) => `${n}×${c}`).join(', ') || 'no error answers';
    return {
      outcome: `bootstrap of ${leads} leads ${loadSummary(boot)}; ${pause}; ${cycleLine(more.last)}; Marketo answered ${codes}; ${end.text}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ''}`,
      lost: end.lost,
      duplicates: end.duplicates,
      passed: problems.length === 0 && end.clean,
      answered,
    };
  } finally {
    await users?.close();
    await s.close();
    await env.teardown();
  }
}
