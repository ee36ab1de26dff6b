import type { CaseDef, SuiteName } from '../case.js';
import { badInputCases } from './bad-input.js';
import { crashCases } from './crash.js';
import { faultCases } from './fault.js';
import { securityCases } from './security.js';

/** Leads per bootstrap case when --scale is not given: the crash suite is the volume proof. */
export const DEFAULT_SCALE: Record<SuiteName, number> = { fault: 2_000, 'bad-input': 2_000, security: 1_000, crash: 100_000 };

export interface SuiteSettings {
  kills: number;
  seed: number;
}

export function suiteCases(suite: SuiteName, settings: SuiteSettings): CaseDef[] {
  switch (suite) {
    case 'fault':
      return faultCases();
    case 'bad-input':
      return badInputCases();
    case 'security':
      return securityCases();
    case 'crash':
      return crashCases(settings);
  }
}
