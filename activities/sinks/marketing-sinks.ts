import type { IngestSinkFactory } from '../ingest-sink.js';
import { MARKETING_ACTIVITIES_SINK, marketingActivitiesSink } from './marketing-activities.js';
import { MARKETING_CUSTOM_OBJECTS_SINK, marketingCustomObjectsSink } from './marketing-custom-objects.js';
import { MARKETING_PROGRAM_MEMBERS_SINK, marketingProgramMembersSink } from './marketing-program-members.js';

/** The marketing phases' ingest sinks by name: pass as `sinks` to createBootstrapActivities. */
export const MARKETING_SINKS: Record<string, IngestSinkFactory> = {
  [MARKETING_ACTIVITIES_SINK]: marketingActivitiesSink,
  [MARKETING_PROGRAM_MEMBERS_SINK]: marketingProgramMembersSink,
  [MARKETING_CUSTOM_OBJECTS_SINK]: marketingCustomObjectsSink,
};
