import type { CaseResult, CaseRun } from '../../reliability/case.js';
import { keepOtherCases, renderReport, runsLine, type SuiteRun } from '../../reliability/report.js';

const full: CaseRun = { at: '2026-11-28 17:27 UTC', settings: '1000 leads per bootstrap case', machine: '2 cores, load average 17.6 at start' };
const rerun: CaseRun = { at: '2026-11-28 20:23 UTC', settings: '1000 leads per bootstrap case', machine: '2 cores, load average 1.2 at start', note: 'after a client fix' };

const result = (name: string, run?: CaseRun): CaseResult => ({
  suite: 'fault', alsoIn: [], name, injected: 'x', outcome: 'done', lost: 0, duplicates: 0, passed: true, seconds: 1, ...(run ? { run } : {}),
});

const suiteRun = (results: CaseResult[], at: string): SuiteRun => ({ suite: 'fault', ranAt: at, scale: 1000, settings: '1000 leads per bootstrap case', machine: 'm', results });

describe('reliability report: which case ran when', () => {
  it('names one run when every case came from it', () => {
    expect(runsLine(suiteRun([result('a', full), result('b', full)], full.at))).toBe(`Last run ${full.at}, ${full.settings}; ${full.machine}.\n`);
  });

  it('names the run most cases came from, then each other run with its cases and note', () => {
    const line = runsLine(suiteRun([result('a', full), result('b', rerun), result('c', full)], rerun.at));
    expect(line.split('\n')[0]).toBe(`Run ${full.at}, ${full.settings}; ${full.machine}, except:`);
    expect(line).toContain(`- "b": ran ${rerun.at}, ${rerun.settings}; ${rerun.machine}; after a client fix.`);
    expect(line).not.toContain('"a"');
  });

  it('a partial run replaces its cases and keeps the others with the run they came from', () => {
    const previous = suiteRun([result('a'), result('b')], full.at);
    const merged = keepOtherCases(suiteRun([result('b', rerun)], rerun.at), previous);
    expect(merged.results.map((r) => [r.name, r.run?.at])).toEqual([['b', rerun.at], ['a', full.at]]);
    expect(renderReport([merged])).toContain(`- "b": ran ${rerun.at}`);
  });
});
