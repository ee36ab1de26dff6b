import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import pg from 'pg';
import { escapeIdentifier } from 'pg';
import { bulkDirOf } from '../../emulator/state-file.js';

// On the embedded default the demo's Marketo is an emulator living in the demo's process that
// keeps its subscription in DATA_DIR/emulator/state.json, as Postgres and Temporal keep theirs
// under DATA_DIR: a restart resumes (the worker finishes the last run's open workflows against the
// same Marketo). A new story (`--fresh`, or no emulator state while the CRM of an earlier one is
// still there) must clear the rest too: a new Marketo synced against the CRM rows and id links of
// the last one would differ (same lead ids, other people), and the worker would finish the last
// run's workflows against a Marketo they never knew.

/** Where the embedded demo emulator keeps its subscription. */
export function demoEmulatorStateFile(dataDir: string): string {
  return path.join(dataDir, 'emulator', 'state.json');
}

/** True when a demo emulator state exists to resume from. */
export function hasDemoEmulatorState(dataDir: string): boolean {
  return existsSync(demoEmulatorStateFile(dataDir));
}

/** Removes the demo emulator's state file and bulk files (a new story seeds a new Marketo). */
export function removeDemoEmulatorState(dataDir: string): void {
  const file = demoEmulatorStateFile(dataDir);
  rmSync(file, { force: true });
  rmSync(bulkDirOf(file), { recursive: true, force: true });
}

/** Ids of the demo workflows still open (top-level only: children end with their parent). */
export async function openDemoRuns(client: Client): Promise<string[]> {
  const open: string[] = [];
  for await (const run of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (run.workflowId.startsWith(DEMO_WORKFLOW_PREFIX) && !run.workflowId.includes('/')) open.push(run.workflowId);
  }
  return open.sort();
}

/**
 * Waits for the last run's open demo workflows, which the worker now finishes against the same
 * Marketo; returns how each ended (a failure is reported, not thrown: the story goes on).
 */
export async function finishOpenDemoRuns(client: Client, ids: string[]): Promise<{ id: string; outcome: string }[]> {
  return Promise.all(ids.map(async (id) => {
    try {
      await client.workflow.getHandle(id).result();
      return { id, outcome: 'completed' };
    } catch (err) {
      return { id, outcome: `failed: ${(err as Error).message}` };
    }
  }));
}

/** The schemas the sync writes: the state store's and the Postgres CRM's (their defaults). */
export const DEMO_SCHEMAS = ['sync_state', 'crm'] as const;

/** Prefix of every workflow id the demo starts itself (runtime/demo.ts). */
export const DEMO_WORKFLOW_PREFIX = 'demo-';

/**
 * Drops the CRM and state-store schemas a previous demo left in the embedded Postgres; the stores
 * create them again when opened. Returns the schemas that were there.
 */
export async function dropPreviousDemoData(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY nspname', [[...DEMO_SCHEMAS]]);
    const names = rows.map((r) => r.name);
    if (names.length > 0) await client.query(`DROP SCHEMA ${names.map((n) => escapeIdentifier(n)).join(', ')} CASCADE`);
    return names;
  } finally {
    await client.end();
  }
}

/**
 * Terminates the demo workflows a previous run left running (an interrupted bootstrap, a loop),
 * children included; their histories stay browsable in the Temporal UI. Returns their ids.
 */
export async function terminateLeftoverDemoRuns(client: Client): Promise<string[]> {
  const leftover: string[] = [];
  for await (const run of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (run.workflowId.startsWith(DEMO_WORKFLOW_PREFIX)) leftover.push(run.workflowId);
  }
  const terminated: string[] = [];
  // Parents first: a child (the bootstrap's bulk exports, `parent/phase/n`) ends with its parent
  // (parent close policy: terminate) and is then gone from the running ones.
  for (const id of leftover.sort((a, b) => a.split('/').length - b.split('/').length)) {
    try {
      await client.workflow.getHandle(id).terminate('superseded by a new demo run: the embedded Marketo emulator it worked against ended with its process');
      terminated.push(id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return terminated;
}
