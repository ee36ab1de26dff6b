import { z } from 'zod';
import type { Stack } from './stack.js';

export const SUITES = ['fault', 'bad-input', 'security', 'crash'] as const;
export const SuiteName = z.enum(SUITES);
export type SuiteName = z.infer<typeof SuiteName>;

/** When and how a case last ran: a suite's table can hold cases from several runs (`--only`). */
export const CaseRun = z.object({
  at: z.string(),
  settings: z.string(),
  machine: z.string(),
  /** Why the case ran again on its own (`--note`). */
  note: z.string().optional(),
});
export type CaseRun = z.infer<typeof CaseRun>;

/** What one case reports; `lost`/`duplicates` are null where no records are at stake. */
export const CaseResult = z.object({
  suite: SuiteName,
  /** Further tables the case belongs to (one run, shown in each). */
  alsoIn: z.array(SuiteName).default([]),
  name: z.string(),
  injected: z.string(),
  outcome: z.string(),
  lost: z.number().int().nullable(),
  duplicates: z.number().int().nullable(),
  passed: z.boolean(),
  seconds: z.number(),
  run: CaseRun.optional(),
});
export type CaseResult = z.infer<typeof CaseResult>;

export interface CaseContext {
  stack: Stack;
  /** Leads per bootstrap case (the crash suite's default is larger; see the runner). */
  scale: number;
  log: (line: string) => void;
}

export interface CaseOutcome {
  outcome: string;
  lost: number | null;
  duplicates: number | null;
  passed: boolean;
}

export interface CaseDef {
  suite: SuiteName;
  alsoIn?: SuiteName[];
  name: string;
  injected: string;
  run(ctx: CaseContext): Promise<CaseOutcome>;
}

export async function runCase(def: CaseDef, ctx: CaseContext): Promise<CaseResult> {
  const started = Date.now();
  ctx.log(`▶ ${def.suite} / ${def.name}`);
  let out: CaseOutcome;
  try {
    out = await def.run(ctx);
  } catch (err) {
    out = { outcome: `harness error: ${(err as Error).message}`, lost: null, duplicates: null, passed: false };
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  ctx.log(`${out.passed ? '✔' : '✘'} ${def.name}: ${out.outcome} (lost ${out.lost ?? '—'}, duplicates ${out.duplicates ?? '—'}, ${seconds} s)`);
  return { suite: def.suite, alsoIn: def.alsoIn ?? [], name: def.name, injected: def.injected, ...out, seconds };
}
