/**
 * The benchmark's Marketo side, in its own process as Marketo is: fires the webhooks of a plan at
 * the receiver, `concurrency` connections at a time, each waiting for its answer before sending
 * the next (Marketo's flow step waits for the answer). Reads its plan as JSON on stdin and writes
 * one JSON document with every request's timing and answer on stdout.
 */
import { z } from 'zod';

const Plan = z.object({
  url: z.url(),
  secret: z.string().min(1),
  concurrency: z.number().int().min(1),
  order: z.array(z.number().int().positive()).min(1),
});

const Answer = z.looseObject({ status: z.string(), runId: z.string().optional() });

export interface LoadResult {
  leadId: number;
  sentAt: number;
  answeredAt: number;
  httpStatus: number;
  status: string;
  runId?: string;
}

export interface LoadReport {
  results: LoadResult[];
  /** This process's CPU while firing: the load's own share of the machine. */
  cpuSeconds: number;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text;
}

const plan = Plan.parse(JSON.parse(await readStdin()));
const results: LoadResult[] = [];
const cpuBefore = process.cpuUsage();
let next = 0;
await Promise.all(
  Array.from({ length: plan.concurrency }, async () => {
    while (next < plan.order.length) {
      const leadId = plan.order[next++]!;
      const sentAt = performance.timeOrigin + performance.now();
      const res = await fetch(plan.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-secret': plan.secret },
        body: `{"leadId": ${leadId}, "campaign": "bench"}`,
      });
      const answer = Answer.parse(await res.json());
      const r: LoadResult = { leadId, sentAt, answeredAt: performance.timeOrigin + performance.now(), httpStatus: res.status, status: answer.status };
      if (answer.runId !== undefined) r.runId = answer.runId;
      results.push(r);
    }
  }),
);
const cpu = process.cpuUsage(cpuBefore);
const report: LoadReport = { results, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(JSON.stringify(report));
