import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/**
 * Custom search attributes operators filter syncs by in the Temporal UI, e.g.
 * `MarketoSyncKind = "syncLoop" AND MarketoSyncState = "paused"`. The worker registers them on
 * start (workers/worker.ts); on Temporal Cloud they are created once per namespace (docs/operations.md).
 */
export const MarketoSyncKind = defineSearchAttributeKey('MarketoSyncKind', SearchAttributeType.KEYWORD);
export const MarketoSyncState = defineSearchAttributeKey('MarketoSyncState', SearchAttributeType.KEYWORD);

export const MARKETO_SEARCH_ATTRIBUTES = [MarketoSyncKind, MarketoSyncState] as const;

export type MarketoSyncKindValue = 'bootstrap' | 'bulkExport' | 'syncLoop' | 'onDemand' | 'reconcile' | 'schemaRefresh';
/**
 * The workflow's own state names, as its status query reports them: syncLoop `starting | running |
 * sleeping | paused | quota-paused | stopped`, bootstrap `running | paused | cancelling | cancelled |
 * done`, onDemand its status states; `failed` when a run ends in error.
 */
export type MarketoSyncStateValue = string;

/**
 * What a client sets when it starts a workflow (`typedSearchAttributes`): its kind and first
 * state, so the run is filterable in the Temporal UI from its first moment.
 */
export function startSearchAttributes(kind: MarketoSyncKindValue, state: MarketoSyncStateValue): SearchAttributePair[] {
  return [
    { key: MarketoSyncKind, value: kind },
    { key: MarketoSyncState, value: state },
  ];
}

/**
 * A state change inside a run whose starter set its kind: the namespace has the attributes then,
 * so the upsert cannot fail the workflow task. A run started without them (an older client, a
 * test server, a namespace where they were never created) is left alone. Skipped when unchanged.
 */
export function markSyncState(state: MarketoSyncStateValue): void {
  const current = workflowInfo().typedSearchAttributes;
  if (current.get(MarketoSyncKind) === undefined || current.get(MarketoSyncState) === state) return;
  upsertSearchAttributes([{ key: MarketoSyncState, value: state }]);
}
