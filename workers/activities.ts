import type { MarketoClient } from '../src/marketo/index.js';
import type { StateStore } from '../src/store/state-store.js';
import type { CrmConnector } from '../src/crm/connector.js';
import { createSchemaActivities } from '../activities/schema.js';
import { createBootstrapActivities } from '../activities/bootstrap.js';
import { createOnDemandActivities } from '../activities/on-demand.js';
import { createPushActivities } from '../activities/push.js';
import { createPullActivities } from '../activities/pull.js';
import { createCycleActivities } from '../activities/cycle.js';

/** What the activities of one worker process share: one Marketo client (one limiter), one state store, one CRM connector. */
export interface ActivityDeps {
  marketo: MarketoClient;
  store: StateStore;
  /** The CRM the bootstrap and the sync write to. */
  crm: CrmConnector;
}

export function createActivities(deps: ActivityDeps) {
  const activities = {
    ...createSchemaActivities({ marketo: deps.marketo, schemaCache: deps.store.schemaCache }),
    ...createBootstrapActivities({ marketo: deps.marketo, store: deps.store, crm: deps.crm }),
    ...createOnDemandActivities({ marketo: deps.marketo, store: deps.store, crm: deps.crm }),
    ...createPushActivities({ marketo: deps.marketo, store: deps.store, crm: deps.crm }),
    ...createPullActivities({ marketo: deps.marketo, store: deps.store, crm: deps.crm }),
  };
  // The sync loop runs the seed's steps this worker registers (see activities/cycle.ts).
  return { ...activities, ...createCycleActivities({ marketo: deps.marketo, store: deps.store, crm: deps.crm, registeredActivities: () => Object.keys(activities) }) };
}

export type Activities = ReturnType<typeof createActivities>;
