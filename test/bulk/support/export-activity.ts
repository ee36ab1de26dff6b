import type { MockActivityEnvironment } from '@temporalio/testing';
import type { createBulkExportActivities, ExportJobView } from '../../../activities/bulk-export.js';

type Activities = ReturnType<typeof createBulkExportActivities>;
type Source = Parameters<Activities['createBulkExport']>[0]['source'];
type Window = Parameters<Activities['createBulkExport']>[0]['window'];

/** Runs `step` in the mock activity context (typed: `env.run` does not infer results). */
export function inActivity<T>(env: MockActivityEnvironment, step: () => Promise<T>): Promise<T> {
  return env.run(step) as Promise<T>;
}

/** Creates, enqueues and polls a lead export through the activities until it completes. */
export async function completedLeadExport(acts: Activities, env: MockActivityEnvironment, source: Source, window: Window): Promise<ExportJobView> {
  const created = await inActivity(env, () => acts.createBulkExport({ source, sink: 'leads', window }));
  const enqueued = await inActivity(env, () => acts.enqueueBulkExport({ source, exportId: created.exportId, queueFullMs: 1000 }));
  if (enqueued.queueFull || 'missing' in enqueued) throw new Error(`enqueue answered ${JSON.stringify(enqueued)}`);
  for (;;) {
    const job = await inActivity(env, () => acts.bulkExportStatus({ source, exportId: created.exportId }));
    if (job.status === 'Completed') return job;
    if (job.status !== 'Queued' && job.status !== 'Processing') throw new Error(`export ended ${job.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
