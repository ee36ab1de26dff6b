import type { SearchAttributePair } from '@temporalio/common';
import { loadConfig } from '../../src/config/env.js';
import { startSearchAttributes, type MarketoSyncKindValue, type MarketoSyncStateValue } from '../../workflows/search-attributes.js';

/** The server's answer to a start carrying an attribute the namespace does not define. */
function isUnknownSearchAttribute(err: unknown): boolean {
  // The SDK's "Failed to start Workflow" carries the server's INVALID_ARGUMENT as its cause.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = `${e.message} ${String((e as { details?: unknown }).details ?? '')}`;
    if (/search attribute/i.test(message) && /(not defined|no mapping|unknown)/i.test(message)) return true;
  }
  return false;
}

/** The part of the configuration a starter obeys (AppConfig['temporal'] fits). */
export interface StartMarkingConfig {
  /** TEMPORAL_SEARCH_ATTRIBUTES: false starts every workflow without the attributes. */
  searchAttributes: boolean;
}

/**
 * Starts a workflow with its MarketoSyncKind/MarketoSyncState set (filterable in the Temporal UI
 * from its first moment). A namespace without the attributes — a Cloud namespace where nobody
 * created them yet, a server no worker has registered them on — refuses such a start; the
 * workflow then starts without them rather than not at all, and the starter stops asking.
 *
 * TEMPORAL_SEARCH_ATTRIBUTES=false is decided here, once for every starter (bootstrap, sync,
 * schema refresh, webhook, demo): some servers cannot be asked at all (Temporal's Java test
 * server creates the run while refusing the attributes, so the fallback start would find it
 * "already started"). Without a config the process environment's is used.
 */
export class MarkedStarter {
  private unsupported: boolean;

  constructor(
    private readonly onUnsupported: (message: string) => void = () => undefined,
    config: StartMarkingConfig = loadConfig().temporal,
  ) {
    this.unsupported = !config.searchAttributes;
  }

  async start<T>(kind: MarketoSyncKindValue, state: MarketoSyncStateValue, start: (attributes: { typedSearchAttributes?: SearchAttributePair[] }) => Promise<T>): Promise<T> {
    if (this.unsupported) return start({});
    try {
      return await start({ typedSearchAttributes: startSearchAttributes(kind, state) });
    } catch (err) {
      if (!isUnknownSearchAttribute(err)) throw err;
      this.unsupported = true;
      this.onUnsupported(`the namespace lacks the MarketoSyncKind/MarketoSyncState search attributes (${(err as Error).message}); workflows start without them (docs/operations.md: search attributes)`);
      return start({});
    }
  }
}

/** One start, marked when the configuration and the namespace allow it. */
export function startMarked<T>(
  kind: MarketoSyncKindValue,
  state: MarketoSyncStateValue,
  start: (attributes: { typedSearchAttributes?: SearchAttributePair[] }) => Promise<T>,
  log?: (line: string) => void,
  config?: StartMarkingConfig,
): Promise<T> {
  return new MarkedStarter(log, config).start(kind, state, start);
}
