import path from 'node:path';
import { z } from 'zod';

/**
 * Everything the processes read from the environment. Unset service addresses mean "the embedded
 * default": the Marketo emulator, a local Postgres cluster and a local Temporal dev server, all
 * under DATA_DIR.
 */
const EnvSchema = z.object({
  DATA_DIR: z.string().default('.data'),
  MARKETO_BASE_URL: z.url({ error: 'MARKETO_BASE_URL must be a URL such as https://123-ABC-456.mktorest.com' }).optional(),
  MARKETO_CLIENT_ID: z.string().min(1).optional(),
  MARKETO_CLIENT_SECRET: z.string().min(1).optional(),
  MARKETO_DAILY_CALLS: z.coerce.number().int().positive().default(50_000),
  MARKETO_CALLS_PER_WINDOW: z.coerce.number().int().positive().default(100),
  MARKETO_WINDOW_MS: z.coerce.number().int().positive().default(20_000),
  MARKETO_MAX_CONCURRENT: z.coerce.number().int().positive().default(10),
  MARKETO_DAILY_EXPORT_MB: z.coerce.number().positive().default(500),
  /**
   * `shared`: the rate window, concurrency cap and daily budget live in Postgres, so every worker
   * of a deployment stays inside the subscription's limits together. `process`: per process.
   */
  MARKETO_LIMITER: z.enum(['shared', 'process']).default('shared'),
  DATABASE_URL: z.string().min(1).optional(),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('marketo-sync'),
  /** Ports of the embedded services (used only when DATABASE_URL / TEMPORAL_ADDRESS are unset). */
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  EMBEDDED_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  EMBEDDED_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export type AppConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.MARKETO_BASE_URL && (!e.MARKETO_CLIENT_ID || !e.MARKETO_CLIENT_SECRET)) {
    throw new Error('invalid configuration:\n  MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET are required with MARKETO_BASE_URL');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    dataDir,
    marketo: e.MARKETO_BASE_URL
      ? { kind: 'remote' as const, baseUrl: e.MARKETO_BASE_URL, clientId: e.MARKETO_CLIENT_ID!, clientSecret: e.MARKETO_CLIENT_SECRET! }
      : { kind: 'emulator' as const },
    limits: {
      dailyCalls: e.MARKETO_DAILY_CALLS,
      callsPerWindow: e.MARKETO_CALLS_PER_WINDOW,
      windowMs: e.MARKETO_WINDOW_MS,
      maxConcurrent: e.MARKETO_MAX_CONCURRENT,
      dailyExportBytes: Math.round(e.MARKETO_DAILY_EXPORT_MB * 1024 * 1024),
      limiter: e.MARKETO_LIMITER,
    },
    databaseUrl: e.DATABASE_URL,
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    embedded: {
      postgresPort: e.EMBEDDED_POSTGRES_PORT,
      temporalPort: e.EMBEDDED_TEMPORAL_PORT,
      temporalUiPort: e.EMBEDDED_TEMPORAL_UI_PORT ?? e.EMBEDDED_TEMPORAL_PORT + 1000,
    },
  };
}
