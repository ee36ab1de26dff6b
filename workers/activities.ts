import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import { createSchemaActivities } from '../activities/schema.js';

/** What the activities of one worker process share: one Marketo client (one limiter), one state store. */
export interface ActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSchemaActivities({ marketo: deps.marketo, schemaCache: deps.store.schemaCache }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
