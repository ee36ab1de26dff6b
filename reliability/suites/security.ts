import { awaitBootstrap, LOAD, loadSummary, startBootstrap } from '../bootstrap-run.js';
import type { CaseContext, CaseDef, CaseOutcome } from '../case.js';
import { dumpHistories, findLeaks, listWorkflows, type HistoryDump } from '../history-scan.js';
import { MARKETO_CLIENT_SECRET, Scenario } from '../scenario.js';
import { verifyLoad, type Verdict } from '../verify.js';
import { awaitOnDemand, onDemandExists, post, sendValid, signed, startReceiverProcess, WEBHOOK_SECRET, withSecret } from '../webhook-run.js';

/** What one full run (bootstrap + webhooks, worker and receiver in processes of their own) left behind. */
interface FullRun {
  load: string;
  verdict: Verdict;
  logs: string;
  history: HistoryDump;
  /** Values that must not appear: seeded lead values and the secrets. */
  secrets: string[];
  emails: string[];
  names: string[];
  webhooks: number;
  /** Webhooks the receiver accepted, and on-demand runs that finished (the scan must read a run that did its work). */
  accepted: number;
  synced: number;
}

const runs = new WeakMap<CaseContext['stack'], Promise<FullRun>>();

/** The two scans read the same run: it is made once per stack. */
function fullRun(ctx: CaseContext): Promise<FullRun> {
  let run = runs.get(ctx.stack);
  if (!run) {
    run = makeFullRun(ctx);
    runs.set(ctx.stack, run);
  }
  return run;
}

async function makeFullRun(ctx: CaseContext): Promise<FullRun> {
  const s = await Scenario.open(ctx.stack, { leads: ctx.scale, from: LOAD.from, to: LOAD.to, emulator: { bulk: { export: { rowsPerSecond: 0 } } } });
  try {
    const worker = await s.startWorker('process');
    const receiver = await startReceiverProcess(s);
    const load = await awaitBootstrap(await startBootstrap(s, 'reliability-security'), 90_000 + ctx.scale * 20);
    // Webhooks after the load: the on-demand runs read each lead and compare it with the CRM.
    const sub = s.emulator.subscription;
    const ids = [...sub.iterateLeads()].slice(0, 20).map((l) => l.id);
    // Changed in Marketo first, so the on-demand runs carry real updates through the worker.
    for (const id of ids.slice(0, 10)) sub.editLeadAsUser(id, { title: `Changed title ${id}` });
    ctx.log(`  load: ${loadSummary(load)}`);
    const refused = await sendValid(receiver.url, ids);
    const unfinished = await awaitOnDemand(s, ids, 180_000);
    ctx.log(`  webhooks: ${ids.length - refused.length} accepted, ${unfinished} unfinished`);
    const verdict = await verifyLoad(s, LOAD.since, LOAD.until);
    ctx.log(`  check: ${verdict.detail}`);
    await receiver.stop();
    await worker.stop();
    const emails: string[] = [];
    const names = new Set<string>();
    for (const l of sub.iterateLeads()) {
      const email = sub.leadValue(l.id, 'email');
      if (typeof email === 'string') emails.push(email);
      for (const f of ['firstName', 'lastName']) {
        const v = sub.leadValue(l.id, f);
        // Short names ("Lee") could match ordinary words of a log line; longer ones cannot by chance.
        if (typeof v === 'string' && v.length >= 5) names.add(v);
      }
    }
    for (const id of ids.slice(0, 10)) emails.push(`Changed title ${id}`);
    // Visibility (workflow list) trails the histories by a moment: list again until every accepted webhook's run shows.
    let listed = await listWorkflows(ctx.stack.temporalAddress, s.taskQueue);
    for (let i = 0; i < 10 && listed.filter((w) => w.type === 'onDemandSync').length < ids.length - refused.length; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      listed = await listWorkflows(ctx.stack.temporalAddress, s.taskQueue);
    }
    const history = await dumpHistories(ctx.stack.temporalAddress, s.taskQueue, listed);
    ctx.log(`  ${history.workflows.length} histories read`);
    return {
      load: `${loadSummary(load)}; ${ids.length - refused.length}/${ids.length} webhooks accepted, ${ids.length - unfinished} synced`,
      verdict,
      logs: worker.output() + '\n' + receiver.output(),
      history,
      secrets: [MARKETO_CLIENT_SECRET, WEBHOOK_SECRET],
      emails,
      names: [...names],
      webhooks: ids.length,
      accepted: ids.length - refused.length,
      synced: ids.length - unfinished,
    };
  } finally {
    await s.close();
  }
}

async function logsHoldNoSecrets(ctx: CaseContext): Promise<CaseOutcome> {
  const r = await fullRun(ctx);
  const secretHits = findLeaks(r.logs, [{ values: r.secrets }]);
  const valueHits = findLeaks(r.logs, [{ values: r.emails }, { values: r.names, wholeWord: true }]);
  const lines = r.logs.split('\n').filter(Boolean).length;
  // The scan must have had something to read: the receiver logs one line per webhook.
  const readable = lines >= r.webhooks;
  // A run whose webhooks were refused or never synced would leave little to find: it proves nothing.
  const didItsWork = r.accepted === r.webhooks && r.synced === r.webhooks;
  return {
    outcome: `${r.load}; ${lines} log lines (worker + receiver) scanned for 2 secrets, ${r.emails.length} emails/values and ${r.names.length} names: ${
      secretHits.length || valueHits.length ? `FOUND ${[...secretHits.map(() => 'a secret'), ...valueHits.slice(0, 5)].join(', ')}` : 'none found'
    }; ${r.verdict.detail}`,
    lost: r.verdict.lost,
    duplicates: r.verdict.duplicates,
    passed: readable && didItsWork && secretHits.length === 0 && valueHits.length === 0 && r.verdict.lost === 0 && r.verdict.duplicates === 0 && r.verdict.differences === 0,
  };
}

async function historyHoldsNoValues(ctx: CaseContext): Promise<CaseOutcome> {
  const r = await fullRun(ctx);
  const hits = findLeaks(r.history.text, [{ values: r.secrets }, { values: r.emails }, { values: r.names, wholeWord: true }]);
  const types = new Map<string, number>();
  for (const w of r.history.workflows) types.set(w.type, (types.get(w.type) ?? 0) + 1);
  // Positive control: the decoded histories do show what workflows legitimately carry (the load's watermark).
  const decoded = r.history.text.includes(LOAD.since);
  const complete = (types.get('bootstrap') ?? 0) >= 1 && (types.get('bulkExport') ?? 0) >= 1 && (types.get('onDemandSync') ?? 0) >= r.webhooks;
  return {
    outcome: `${r.history.workflows.length} histories (${[...types].map(([t, n]) => `${n} ${t}`).join(', ')}), payloads decoded${decoded ? '' : ' (control value NOT found)'}: ${
      hits.length ? `FOUND ${hits.length} values, e.g. ${hits.slice(0, 3).map((h) => (r.secrets.includes(h) ? 'a secret' : h)).join(', ')}` : 'no lead value, no secret'
    }`,
    lost: null,
    duplicates: null,
    passed: decoded && complete && hits.length === 0,
  };
}

async function unauthenticatedWebhooks(ctx: CaseContext): Promise<CaseOutcome> {
  const s = await Scenario.open(ctx.stack, { leads: 20, from: '2024-01-01T00:00:00Z', to: '2024-01-05T00:00:00Z' });
  try {
    // No worker serves this case: the control's answer is the queued one (202), not a wait that runs out.
    const receiver = await startReceiverProcess(s, { waitMs: 0 });
    try {
      const body = (id: number) => JSON.stringify({ leadId: id });
      const tries: [string, number, Record<string, string>][] = [
        ['no credentials', 1, { 'content-type': 'application/json' }],
        ['wrong secret', 2, withSecret('x'.repeat(WEBHOOK_SECRET.length))],
        ['secret with one character changed', 3, withSecret(WEBHOOK_SECRET.slice(0, -1) + (WEBHOOK_SECRET.endsWith('a') ? 'b' : 'a'))],
        ['signature with another key', 4, signed(body(4), 'another-key-000000000000000')],
        ['signature of another body', 5, { ...signed(body(99)), 'content-type': 'application/json' }],
        ['secret in the query string', 6, { 'content-type': 'application/json' }],
      ];
      const answers: string[] = [];
      let accepted = 0;
      for (const [name, id, headers] of tries) {
        const url = name === 'secret in the query string' ? `${receiver.url}?secret=${WEBHOOK_SECRET}` : receiver.url;
        const a = await post(url, body(id), headers);
        if (a.status !== 401) accepted++;
        answers.push(`${name} → ${a.status}`);
      }
      const started: number[] = [];
      for (const [, id] of tries) if (await onDemandExists(s, id)) started.push(id);
      // Control: the same receiver accepts a correctly signed call.
      const control = await post(receiver.url, body(7), signed(body(7)));
      // No worker serves this case's queue: the control's run would stay open under on-demand-7 and
      // take the next case's webhook for lead 7 (workflow ids are per namespace).
      await s.host.client.workflow.getHandle('on-demand-7').terminate('control webhook of the unauthenticated case').catch(() => undefined);
      return {
        outcome: `${answers.join('; ')}; workflows started by refused calls: ${started.length}; control (valid signature) → ${control.status}`,
        lost: null,
        duplicates: null,
        passed: accepted === 0 && started.length === 0 && control.status === 202,
      };
    } finally {
      await receiver.stop();
    }
  } finally {
    await s.close();
  }
}

export function securityCases(): CaseDef[] {
  return [
    {
      suite: 'security',
      name: 'no secret and no lead value in logs',
      injected: 'full bootstrap + 20 webhooks (10 for leads changed in Marketo); worker and `marketo-sync webhook serve` in their own processes, output captured',
      run: logsHoldNoSecrets,
    },
    {
      suite: 'security',
      name: 'no lead value in Temporal history',
      injected: 'the same run; `temporal workflow show --output json` of every workflow on its task queue, payloads decoded',
      run: historyHoldsNoValues,
    },
    { suite: 'security', name: 'unauthenticated webhooks refused', injected: 'no credentials, wrong secret, near-miss secret, wrong HMAC key, HMAC of another body, secret in the URL', run: unauthenticatedWebhooks },
  ];
}
