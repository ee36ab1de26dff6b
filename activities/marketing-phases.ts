import { createMarketingCustomObjectActivities, type CustomObjectDeps } from './marketing-custom-objects.js';
import { createMarketingProgramActivities } from './marketing-programs.js';
import { createMarketingStaticListActivities } from './marketing-static-lists.js';

/**
 * The activities of the marketing bootstrap phases (workflows/bootstrap-marketing.ts) that are not
 * bulk export windows: programs, static lists with their members, custom object preparation. The
 * exports go through the bulk export activities with the sinks of activities/sinks/marketing-sinks.ts.
 */
export function createMarketingActivities(deps: CustomObjectDeps) {
  return {
    ...createMarketingProgramActivities(deps),
    ...createMarketingStaticListActivities(deps),
    ...createMarketingCustomObjectActivities(deps),
  };
}

export type MarketingActivities = ReturnType<typeof createMarketingActivities>;
