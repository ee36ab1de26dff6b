import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities.js';

/**
 * The workflows entry file next to this module: `.ts` when running from source (tests, tsx),
 * `.js` when running the build. Temporal bundles it for the workflow sandbox.
 */
export function workflowsPath(): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  const file = fileURLToPath(new URL(`../workflows/index${ext}`, import.meta.url));
  if (!existsSync(file)) throw new Error(`workflow entry not found at ${file}`);
  return file;
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * Activities in flight in this process. Marketo allows 10 concurrent calls per subscription,
   * and the client's limiter queues beyond its own cap, so this bounds memory, not Marketo load.
   */
  maxConcurrentActivities?: number;
}

export async function createSyncWorker(opts: SyncWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue,
    workflowsPath: workflowsPath(),
    activities: createActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 20,
  });
}
