/**
 * Where a webhook's time goes, lead by lead, from timestamps the benchmark already has: the
 * request, the run's history (server clock = this machine's), the Marketo read and CRM write
 * batches that carried the lead, and the CRM row's `updated_at`.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

/** One Marketo read or CRM upsert call and the lead ids it carried. */
export interface Batch {
  start: number;
  end: number;
  ids: number[];
}

export interface StageFigure {
  name: string;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function ms(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

interface RunTimes {
  started: number;
  firstTaskStarted?: number;
  firstTaskCompleted?: number;
  tasks: number;
  closed?: number;
}

function runTimes(events: temporal.api.history.v1.IHistoryEvent[]): RunTimes {
  const t: RunTimes = { started: ms(events[0]?.eventTime), tasks: 0 };
  for (const e of events) {
    if (e.workflowTaskStartedEventAttributes) {
      t.tasks += 1;
      t.firstTaskStarted ??= ms(e.eventTime);
    }
    if (e.workflowTaskCompletedEventAttributes) t.firstTaskCompleted ??= ms(e.eventTime);
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) t.closed = ms(e.eventTime);
  }
  return t;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The first batch carrying `id` that began at or after `from`. */
function batchOf(batches: Batch[], id: number, from: number): Batch | undefined {
  return batches.find((b) => b.start >= from && b.ids.includes(id));
}

export async function profileStages(input: {
  client: Client;
  runs: { leadId: number; runId: string }[];
  firstSent: Map<number, number>;
  firstAnswered: Map<number, number>;
  reads: Batch[];
  writes: Batch[];
  rowWrittenAt: Map<number, number>;
}): Promise<{ leads: number; stages: StageFigure[]; tasksPerRun: number }> {
  const histories = await mapLimited(input.runs, 10, async (r) => {
    const h = await input.client.workflow.getHandle(`on-demand-${r.leadId}`, r.runId).fetchHistory();
    return { leadId: r.leadId, times: runTimes(h.events ?? []) };
  });
  // A lead's first run: the one that started first.
  const first = new Map<number, RunTimes>();
  for (const h of histories) {
    const seen = first.get(h.leadId);
    if (!seen || h.times.started < seen.started) first.set(h.leadId, h.times);
  }
  const spans = new Map<string, number[]>();
  const add = (name: string, a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined) return;
    let list = spans.get(name);
    if (!list) spans.set(name, (list = []));
    list.push(b - a);
  };
  for (const [leadId, t] of first) {
    const sent = input.firstSent.get(leadId);
    if (sent === undefined) continue;
    const read = batchOf(input.reads, leadId, t.started);
    const write = read ? batchOf(input.writes, leadId, read.end) : undefined;
    add('request → HTTP answer', sent, input.firstAnswered.get(leadId));
    add('request → run started (signal-with-start)', sent, t.started);
    add('run started → first workflow task picked up', t.started, t.firstTaskStarted);
    add('task picked up → Marketo read call began', t.firstTaskStarted, read?.start);
    add('Marketo read call', read?.start, read?.end);
    add('read done → CRM upsert began', read?.end, write?.start);
    add('CRM upsert call', write?.start, write?.end);
    add('upsert done → first workflow task completed', write?.end, t.firstTaskCompleted);
    add('first task completed → run closed', t.firstTaskCompleted, t.closed);
    add('request → CRM row written', sent, input.rowWrittenAt.get(leadId));
    add('request → run closed', sent, t.closed);
  }
  const stages = [...spans].map(([name, list]) => {
    list.sort((a, b) => a - b);
    return { name, p50: percentile(list, 50), p99: percentile(list, 99) };
  });
  const tasksPerRun = histories.reduce((n, h) => n + h.times.tasks, 0) / Math.max(1, histories.length);
  return { leads: first.size, stages, tasksPerRun };
}
