import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import pg from 'pg';
import { escapeIdentifier } from 'pg';

// On the embedded default the demo's Marketo is an emulator living in the demo's process, seeded
// afresh at every start, while Postgres and Temporal keep their state under DATA_DIR. A second
// `npm start` would otherwise sync a new Marketo against the CRM rows and id links of the last one
// (same lead ids, other people: reconciliation differences), and the worker would pick up the
// last run's unfinished workflows and finish them against a Marketo they never knew.

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
