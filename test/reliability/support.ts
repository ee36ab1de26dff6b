import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCase, type CaseDef, type CaseResult } from '../../reliability/case.js';
import { Stack } from '../../reliability/stack.js';

/** The runner's stack on jest's Postgres (or its own cluster when the case restarts Postgres). */
export async function startStack(opts: { ownPostgres?: boolean } = {}): Promise<{ stack: Stack; close(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'reliability-test-'));
  const stack = await Stack.start({ dataDir, ...(opts.ownPostgres ? {} : { postgresUrl: process.env.DATABASE_URL! }) });
  return {
    stack,
    close: async () => {
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One stack for a whole test file: started before its first test, closed after its last. */
export function stackForFile(): { readonly stack: Stack } {
  let env: Awaited<ReturnType<typeof startStack>> | undefined;
  beforeAll(async () => {
    env = await startStack();
  });
  afterAll(() => env?.close());
  return {
    get stack(): Stack {
      if (!env) throw new Error('the reliability stack did not start (see beforeAll)');
      return env.stack;
    },
  };
}

/** Runs the named case of a suite at a small scale; the result carries the outcome text for a failing expect. */
export async function runNamed(stack: Stack, cases: CaseDef[], name: string, scale: number): Promise<CaseResult> {
  const def = cases.find((c) => c.name === name);
  if (!def) throw new Error(`no case named ${JSON.stringify(name)} (have: ${cases.map((c) => c.name).join(' | ')})`);
  return runCase(def, { stack, scale, log: caseLog });
}

/** Case progress on stderr with RELIABILITY_LOG=1 (where a slow run spends its time); silent otherwise. */
export const caseLog = process.env.RELIABILITY_LOG ? (line: string) => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`) : () => undefined;

/** A case's verdict with its outcome text kept only when it failed, so a failing expect prints why. */
export function verdict(r: CaseResult): { passed: boolean; lost: number | null; duplicates: number | null; why: string } {
  return { passed: r.passed, lost: r.lost, duplicates: r.duplicates, why: r.passed ? '' : r.outcome };
}

/** What a passing case looks like (lost and duplicates zero where records are at stake). */
export const PASSED = { passed: true, lost: 0, duplicates: 0, why: '' };
export const PASSED_NO_RECORDS = { passed: true, why: '' };

/**
 * The marketing part of a bootstrap case's check: every seeded entity reconciled, at least one
 * record each, all matched (a phase that silently loaded nothing would still lose "0").
 */
export const MARKETING_MATCHED =
  /([1-9]\d*)\/\1 custom objects \(purchase_c\) matched; ([1-9]\d*)\/\2 programs matched; ([1-9]\d*)\/\3 program members matched; ([1-9]\d*)\/\4 static lists matched; ([1-9]\d*)\/\5 list members matched; ([1-9]\d*)\/\6 activities matched/;
