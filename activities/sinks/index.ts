import type { IngestSinkFactory } from '../ingest-sink.js';
import { addToOpportunitySink } from './add-to-opportunity.js';
import { leadsSink } from './leads.js';
import { MARKETING_SINKS } from './marketing-sinks.js';

/**
 * The sinks every worker registers, by the name a window's `sink` gives: the lead database ones
 * and the marketing ones (activities/sinks/marketing-sinks.ts). More can be passed as `sinks` to
 * `createBootstrapActivities` without changing this file.
 */
export const BOOTSTRAP_SINKS: Record<string, IngestSinkFactory> = {
  leads: leadsSink,
  addToOpportunity: addToOpportunitySink,
  ...MARKETING_SINKS,
};
