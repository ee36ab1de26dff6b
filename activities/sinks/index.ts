import type { IngestSinkFactory } from '../ingest-sink.js';
import { addToOpportunitySink } from './add-to-opportunity.js';
import { leadsSink } from './leads.js';

/**
 * The sinks every worker registers, by the name a window's `sink` gives. The marketing sinks
 * (activities/sinks/marketing-*.ts) are added by passing them as `sinks` to
 * `createBootstrapActivities` in workers/activities.ts (one line there), so this file need not
 * change for them.
 */
export const SALES_SINKS: Record<string, IngestSinkFactory> = {
  leads: leadsSink,
  addToOpportunity: addToOpportunitySink,
};
