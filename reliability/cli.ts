/**
 * The reliability runner:
 *   npm run reliability [-- --suite crash|fault|bad-input|security ...] [--scale N] [--only TEXT [--note TEXT]] [--kills N] [--seed N]
 * Starts its own Postgres and Temporal dev server in a temp folder, runs the chosen suites' cases,
 * keeps each suite's results in reliability/results/<suite>.json, redraws docs/reliability.md from
 * every suite's last results, and exits 1 when any case failed (lost, duplicated or unfinished).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { z } from 'zod';
import { runCase, SUITES, SuiteName, type CaseDef, type CaseResult } from './case.js';
import { keepOtherCases, loadSuiteRuns, renderReport, saveSuiteRun } from './report.js';
import { Stack } from './stack.js';
import { suiteCases, DEFAULT_SCALE } from './suites/index.js';

const Options = z.object({
  suite: z.array(SuiteName).min(1),
  scale: z.coerce.number().int().min(50).optional(),
  only: z.string().optional(),
  note: z.string().min(1).optional(),
  kills: z.coerce.number().int().min(1),
  seed: z.coerce.number().int(),
  keep: z.boolean(),
});

// Worker lifecycle INFO lines would drown the case lines; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

async function main(): Promise<number> {
  const cli = new Command('reliability')
    .option('--suite <name...>', `suites to run (${SUITES.join(', ')})`, [...SUITES])
    .option('--scale <n>', `leads per bootstrap case (default: ${Object.entries(DEFAULT_SCALE).map(([k, v]) => `${k} ${v}`).join(', ')})`)
    .option('--only <text>', 'run only cases whose name contains this text')
    .option('--note <text>', 'why these cases ran again (shown in the report beside their run)')
    .option('--kills <n>', 'crash suite: worker SIGKILLs during the load', '10')
    .option('--seed <n>', 'crash suite: seed of the kill points', '1')
    .option('--keep', 'keep the temp folder (Postgres, Temporal state, logs)', false);
  const opts = Options.parse(cli.parse(process.argv).opts());
  const root = fileURLToPath(new URL('..', import.meta.url));
  const resultsDir = path.join(root, 'reliability', 'results');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'marketo-sync-reliability-'));
  const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  log(`data in ${dataDir}`);
  const stack = await Stack.start({ dataDir, log });
  let failed = 0;
  try {
    for (const suite of opts.suite) {
      const scale = opts.scale ?? DEFAULT_SCALE[suite];
      const cases: CaseDef[] = suiteCases(suite, { kills: opts.kills, seed: opts.seed }).filter((c) => !opts.only || c.name.includes(opts.only));
      if (cases.length === 0) continue;
      const machine = `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at start`;
      const ranAt = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
      const settings = `${scale} leads per bootstrap case${suite === 'crash' ? `, ${opts.kills} kills (each after CRM progress), seed ${opts.seed}` : ''}`;
      const run = { at: ranAt, settings, machine, ...(opts.note ? { note: opts.note } : {}) };
      const results: CaseResult[] = [];
      for (const def of cases) {
        const result = await runCase(def, { stack, scale, log });
        results.push({ ...result, run });
        if (!result.passed) failed++;
      }
      const previous = opts.only ? loadSuiteRuns(resultsDir).find((r) => r.suite === suite) : undefined;
      const settingsOfRun = `${settings}${opts.only ? `, only cases matching "${opts.only}"` : ''}`;
      saveSuiteRun(resultsDir, keepOtherCases({ suite, ranAt, scale, settings: settingsOfRun, machine, results }, previous));
    }
  } finally {
    await stack.close().catch((err: unknown) => log(`closing the stack: ${(err as Error).message}`));
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
  }
  writeFileSync(path.join(root, 'docs', 'reliability.md'), renderReport(loadSuiteRuns(resultsDir)));
  log(`docs/reliability.md written; ${failed} case(s) failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
