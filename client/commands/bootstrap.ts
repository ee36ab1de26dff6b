import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { z } from 'zod';
import { BOOTSTRAP_ENTITIES, type BootstrapEntity, type BootstrapInput, type BootstrapProgress, type EntitySetting } from '../../workflows/bootstrap-types.js';
import { expiredNote, formatBytes } from '../output/bootstrap-progress.js';
import { parseOptions } from '../output/options.js';
import { printResult } from '../output/print.js';

// The Temporal SDK, the workflows and the app runtime load inside the actions (seconds of CPU):
// `--help` and a mistyped option answer without them.

/** One bootstrap per namespace and task queue: starting it again attaches to the running one. */
export function bootstrapWorkflowId(taskQueue: string): string {
  return `marketo-sync-bootstrap-${taskQueue}`;
}

const ENTITIES = BOOTSTRAP_ENTITIES;
/** Loaded unless --entities says otherwise: everything but activities, whose types an admin picks. */
const DEFAULT_ENTITIES: BootstrapEntity[] = ENTITIES.filter((e) => e !== 'activities');

const date = z.iso.datetime({ offset: true }).or(z.iso.date().transform((d) => `${d}T00:00:00Z`));
const list = (s: string) => s.split(',').map((e) => e.trim()).filter(Boolean);
const entity = z.enum(ENTITIES, { error: `entities are: ${ENTITIES.join(', ')}` });

export const optionsSchema = z
  .object({
    since: date.default(() => new Date(Date.now() - 5 * 365 * 86_400_000).toISOString()),
    entities: z.string().default(DEFAULT_ENTITIES.join(',')).transform(list).pipe(z.array(entity).min(1, '--entities is empty')),
    /** `entity=date` pairs: an entity's own low watermark. */
    entitySince: z
      .string()
      .optional()
      .transform((s) => (s === undefined ? [] : list(s).map((pair) => pair.split('='))))
      .pipe(z.array(z.tuple([entity, date], { error: '--entity-since takes entity=date pairs, comma-separated' }))),
    activityTypes: z
      .string()
      .optional()
      .transform((s) => (s === undefined ? undefined : list(s)))
      .pipe(z.array(z.string().regex(/^[1-9]\d*$/, '--activity-types takes activity type ids').transform(Number)).min(1).optional()),
    customObjects: z.string().optional().transform((s) => (s === undefined ? undefined : list(s))),
    pruneMembers: z.boolean().default(false),
    worker: z.boolean().default(true),
    json: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    if (o.entities.includes('activities') && !o.activityTypes) ctx.addIssue({ code: 'custom', path: ['activityTypes'], message: 'loading activities needs --activity-types' });
    if (o.entities.includes('opportunityRoles') && !o.entities.includes('opportunities')) ctx.addIssue({ code: 'custom', path: ['entities'], message: 'opportunityRoles needs opportunities (roles are found through Add to Opportunity activities)' });
  });

/** The workflow's entity settings from the parsed options: every entity named, on or off. */
export function entitySettings(opts: z.output<typeof optionsSchema>): BootstrapInput['entities'] {
  const since = new Map(opts.entitySince);
  const out: BootstrapInput['entities'] = {};
  for (const e of ENTITIES) {
    const setting: EntitySetting = { enabled: opts.entities.includes(e) };
    const own = since.get(e);
    if (own) setting.since = own;
    if (e === 'activities' && opts.activityTypes) setting.activityTypeIds = opts.activityTypes;
    if (e === 'customObjects' && opts.customObjects) setting.apiNames = opts.customObjects;
    if (e === 'programs' && opts.pruneMembers) setting.pruneMembers = true;
    out[e] = setting;
  }
  return out;
}

/** The progress as text, one line per phase (what `bootstrap status` prints). */
export function describeProgress(p: BootstrapProgress): string {
  const lines = [`bootstrap ${p.state}, high watermark ${p.highWatermark}`];
  if (p.quotaWait) lines.push(`  paused: Marketo export quota spent until ${p.quotaWait.resetAt}`);
  for (const [name, phase] of Object.entries(p.phases)) {
    const active = Object.values(phase.active);
    const expired = expiredNote(phase);
    lines.push(
      `  ${name.padEnd(16)} ${phase.state.padEnd(9)} windows ${phase.windowsDone}/${phase.windowsTotal}  records ${phase.records}  written ${phase.written}  failed ${phase.failed}  ${formatBytes(phase.bytes)}  API calls ${phase.apiCalls}${expired ? `  ${expired}` : ''}${active.length ? `  in flight: ${active.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n');
}

async function showLive(client: Client, workflowId: string): Promise<BootstrapProgress> {
  const [{ BootstrapBars }, { bootstrapProgressQuery }] = await Promise.all([import('../output/bootstrap-bars.js'), import('../../workflows/index.js')]);
  const handle = client.workflow.getHandle(workflowId);
  const bars = new BootstrapBars();
  const finished = handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  let done = false;
  void finished.then(() => (done = true));
  let last: BootstrapProgress | undefined;
  try {
    for (;;) {
      last = await handle.query(bootstrapProgressQuery);
      bars.show(last);
      if (done) break;
      await Promise.race([finished, new Promise((r) => setTimeout(r, 1_000))]);
    }
  } finally {
    bars.stop();
  }
  const error = await finished;
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return last;
}

/**
 * `marketo-sync bootstrap [--since DATE] [--entities ...]`: starts the initial load (or attaches
 * to the one already running under the same id) and shows live progress bars from its `progress`
 * query; `marketo-sync bootstrap status` prints the progress once.
 */
export function registerBootstrapCommand(program: Command): void {
  const command = program
    .command('bootstrap')
    .description('load Marketo into the CRM from a low watermark up to now (durable; re-running attaches to the running load)')
    .option('--since <date>', 'low watermark for every entity (ISO date or datetime; default 5 years ago)')
    .option('--entities <list>', `entities to load, comma-separated, of ${ENTITIES.join(', ')} (default: all but activities)`)
    .option('--entity-since <pairs>', 'an entity\'s own low watermark, e.g. companies=2024-01-01,programs=2023-06-01')
    .option('--activity-types <ids>', 'activity type ids to load with the activities entity, comma-separated')
    .option('--custom-objects <names>', 'custom object API names to load (default: every one the mapping enables)')
    .option('--prune-members', 'programs: re-read each program\'s members after its export and remove CRM members Marketo no longer lists (one call per 300 members)')
    .option('--no-worker', 'do not run a worker in this process (a `marketo-sync worker` elsewhere does the work)')
    .option('--json', 'print the final progress as JSON on stdout (the bars go to stderr)')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(optionsSchema, raw);
      const [{ WorkflowExecutionAlreadyStartedError }, { bootstrap }, { createAppWorker, openApp }, { startMarked }] = await Promise.all([
        import('@temporalio/client'),
        import('../../workflows/index.js'),
        import('../runtime/app.js'),
        import('../runtime/start-attributes.js'),
      ]);
      const app = await openApp({ log: (line) => console.error(line) });
      let worker: Awaited<ReturnType<typeof createAppWorker>> | undefined;
      let running: Promise<void> | undefined;
      try {
        if (opts.worker) {
          worker = await createAppWorker(app);
          running = worker.run();
        }
        const workflowId = bootstrapWorkflowId(app.config.temporal.taskQueue);
        const entities = entitySettings(opts);
        try {
          await startMarked(
            'bootstrap',
            'running',
            (attributes) => app.client.workflow.start(bootstrap, { taskQueue: app.config.temporal.taskQueue, workflowId, args: [{ since: opts.since, entities }], ...attributes }),
            (line) => console.error(line),
            app.config.temporal,
          );
          console.error(`bootstrap ${workflowId} started`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          console.error(`bootstrap ${workflowId} is already running: showing its progress`);
        }
        const final = await showLive(app.client, workflowId);
        printResult(opts, final, describeProgress);
      } finally {
        worker?.shutdown();
        await running;
        await app.close();
      }
    });

  command
    .command('status')
    .description("print the bootstrap's progress once")
    .option('--json', 'print the progress as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().default(false) }), raw);
      const [{ WorkflowNotFoundError }, { bootstrapProgressQuery }, { openApp }] = await Promise.all([
        import('@temporalio/client'),
        import('../../workflows/index.js'),
        import('../runtime/app.js'),
      ]);
      const app = await openApp({ log: (line) => console.error(line) });
      try {
        const handle = app.client.workflow.getHandle(bootstrapWorkflowId(app.config.temporal.taskQueue));
        printResult(opts, await handle.query(bootstrapProgressQuery), describeProgress);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new Error('no bootstrap has run under this namespace and task queue');
        throw err;
      } finally {
        await app.close();
      }
    });
}
