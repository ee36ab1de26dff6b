import type http from 'node:http';
import type { Client } from '@temporalio/client';
import { createWebhookServer, listen, WEBHOOK_PATH } from '../../client/webhook/server.js';
import { temporalSyncAwaiter, temporalSyncStarter } from '../../client/webhook/temporal-starter.js';
import type { WorkflowHarness } from '../workflows/support.js';

export const SECRET = 'webhook-test-secret-0123456789';

export interface Receiver {
  url: string;
  close(): Promise<void>;
}

/**
 * The real receiver, in process, starting workflows on the harness's task queue. The mode is the
 * caller's to state: `waitMs` 0 answers once Temporal accepted (queued), more waits for the sync.
 */
export async function startReceiver(client: Client, taskQueue: string, opts: { waitMs: number }): Promise<Receiver> {
  const server: http.Server = createWebhookServer({
    secret: SECRET,
    maxBodyBytes: 16_384,
    start: temporalSyncStarter(client, taskQueue),
    ...(opts.waitMs > 0 ? { wait: { ms: opts.waitMs, result: temporalSyncAwaiter(client) } } : {}),
  });
  const { url } = await listen(server, 0, '127.0.0.1');
  return {
    url: `${url}${WEBHOOK_PATH}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export async function fireWebhook(url: string, leadId: number | string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET }, body: `{"leadId": ${JSON.stringify(leadId)}}` });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export interface CrmPersonRow {
  table: 'leads' | 'contacts';
  id: string;
  email: string | null;
  first_name: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Every CRM person row carrying this Marketo lead id (more than one would be a duplicate). */
export async function crmRowsFor(h: WorkflowHarness, leadId: number): Promise<CrmPersonRow[]> {
  const { rows } = await h.crm.pool.query<CrmPersonRow>(
    `SELECT 'leads' AS table, id, email, first_name, created_at, updated_at FROM crm.leads WHERE marketo_lead_id = $1
     UNION ALL
     SELECT 'contacts', id, email, first_name, created_at, updated_at FROM crm.contacts WHERE marketo_lead_id = $1`,
    [leadId],
  );
  return rows;
}
