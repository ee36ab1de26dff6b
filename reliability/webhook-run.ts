import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Scenario } from './scenario.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The webhook secret of every case: the security suite looks for it in logs. */
export const WEBHOOK_SECRET = 'reliability-webhook-secret-4d1f8b2c9e7a';

export interface ReceiverProcess {
  url: string;
  /** Everything the receiver printed (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The real receiver as operators run it (`marketo-sync webhook serve`), in a child process on a
 * free port, starting workflows on the scenario's task queue.
 */
/** `waitMs`: the receiver's `--wait` (default: the CLI's own, wait mode); 0 answers 202 queued at once. */
export async function startReceiverProcess(s: Scenario, options: { waitMs?: number } = {}): Promise<ReceiverProcess> {
  const wait = options.waitMs === undefined ? [] : ['--wait', String(options.waitMs)];
  const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'webhook', 'serve', '--port', '0', ...wait], {
    cwd: root,
    env: { ...process.env, WEBHOOK_SECRET, TEMPORAL_ADDRESS: s.host.temporalAddress, TEMPORAL_TASK_QUEUE: s.taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`webhook receiver exited (${code}): ${output.slice(-1500)}`));
    child.once('exit', onExit);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        child.off('exit', onExit);
        resolve(m[1]!);
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface WebhookAnswer {
  status: number;
  body: string;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<WebhookAnswer> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    // A receiver may cut a huge upload short: the connection error is its answer.
    return { status: 0, body: (err as Error).message };
  }
}

export const withSecret = (secret = WEBHOOK_SECRET) => ({ 'content-type': 'application/json', 'x-webhook-secret': secret });

export function signed(body: string, secret = WEBHOOK_SECRET): Record<string, string> {
  return { 'content-type': 'application/json', 'x-webhook-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
}

/** Sends one valid webhook per lead id; returns the ids the receiver did not accept. */
export async function sendValid(url: string, leadIds: number[]): Promise<number[]> {
  const refused: number[] = [];
  for (const id of leadIds) {
    const a = await post(url, JSON.stringify({ leadId: id }), withSecret());
    if (a.status !== 200) refused.push(id);
  }
  return refused;
}

/** Waits for the on-demand workflows of these leads (all at once: one stuck run must not eat the others' time); returns how many did not finish. */
export async function awaitOnDemand(s: Scenario, leadIds: number[], timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    const done = await Promise.all(
      leadIds.map((id) => Promise.race([s.host.client.workflow.getHandle(`on-demand-${id}`).result().then(() => true, () => false), expired])),
    );
    return done.filter((d) => !d).length;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a workflow was started for this lead on this scenario's task queue (a refused webhook
 * must start none). Workflow ids are per namespace, so another case's run of the same id is not ours.
 */
export async function onDemandExists(s: Scenario, leadId: number): Promise<boolean> {
  try {
    const d = await s.host.client.workflow.getHandle(`on-demand-${leadId}`).describe();
    return d.taskQueue === s.taskQueue;
  } catch {
    return false;
  }
}

/** CRM person rows per Marketo lead id, for these ids. */
export async function crmRowsPerLead(s: Scenario, leadIds: number[]): Promise<Map<number, number>> {
  const { rows } = await s.crm.pool.query<{ id: string; n: string }>(
    `SELECT id, count(*) AS n FROM (SELECT marketo_lead_id AS id FROM crm.leads UNION ALL SELECT marketo_lead_id FROM crm.contacts) p
      WHERE id = ANY($1::bigint[]) GROUP BY id`,
    [leadIds],
  );
  return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
}
