/**
 * The workflows a marketing test worker bundles: the real bootstrap parent with the marketing
 * phases appended to its PHASES (what workflows/bootstrap.ts will do itself once it wires them
 * in; the guard keeps this file right after that).
 */
import { PHASES } from '../../workflows/bootstrap.js';
import { MARKETING_PHASES } from '../../workflows/bootstrap-marketing.js';

if (!PHASES.some((p) => p.entity === 'programs')) PHASES.push(...MARKETING_PHASES);

export * from '../../workflows/index.js';
