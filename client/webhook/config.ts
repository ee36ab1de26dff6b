import { z } from 'zod';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS } from './limits.js';

/**
 * The receiver's settings from the environment. The secret is checked here, at start, so a
 * receiver never runs with a guessable one; it is never printed, not even in this error.
 */
const WebhookEnv = z.object({
  WEBHOOK_SECRET: z
    .string({ error: 'WEBHOOK_SECRET is required (the shared secret Marketo sends; at least 24 characters)' })
    .min(24, { error: 'WEBHOOK_SECRET must be at least 24 characters' })
    .refine((s) => s.trim() === s, { error: 'WEBHOOK_SECRET must not start or end with whitespace (Marketo sends header values as typed)' }),
  WEBHOOK_HOST: z.string().min(1).default('127.0.0.1'),
  WEBHOOK_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  /** A Marketo webhook body is a lead id and a few tokens: 16 KiB is generous. */
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(64).max(1_048_576).default(16_384),
  /**
   * Wait mode (docs/webhook.md, the default): how long an answer waits for the sync's outcome; 0
   * answers once Temporal accepted. At most 15 s: with the 10 s allowed for Temporal to accept,
   * Marketo's 30 s still holds.
   */
  WEBHOOK_WAIT_MS: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(DEFAULT_WAIT_MS),
});

export interface WebhookConfig {
  secret: string;
  host: string;
  port: number;
  maxBodyBytes: number;
  /** 0: answer once Temporal accepted; more: wait up to this long for the sync's outcome. */
  waitMs: number;
}

export function loadWebhookConfig(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const parsed = WebhookEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid webhook configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return { secret: e.WEBHOOK_SECRET, host: e.WEBHOOK_HOST, port: e.WEBHOOK_PORT, maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES, waitMs: e.WEBHOOK_WAIT_MS };
}
