import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const filePath = () => z.string().min(1).refine((p) => existsSync(p), { error: (i) => `no file at ${String(i.input)}` });
const flag = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');

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
  /**
   * Temporal Cloud or a TLS-protected server: an mTLS client certificate and key (PEM files), or
   * an API key (sent as a bearer token, over TLS only). TLS is on whenever one of them, or a CA
   * file, is given; TEMPORAL_TLS=true turns it on without any (server TLS only).
   */
  TEMPORAL_TLS: flag.optional(),
  TEMPORAL_TLS_CERT_PATH: filePath().optional(),
  TEMPORAL_TLS_KEY_PATH: filePath().optional(),
  /** The server's root CA (PEM), for a self-hosted server whose certificate no system CA signed. */
  TEMPORAL_TLS_CA_PATH: filePath().optional(),
  /** The TLS server name to check, when it is not the host of TEMPORAL_ADDRESS (a proxy in between). */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /**
   * false: start workflows without the MarketoSyncKind/MarketoSyncState search attributes (a namespace
   * where they cannot be created; Temporal's Java test server, which creates the run even while it
   * refuses the attributes, so the marked start's fallback would find it "already started").
   */
  TEMPORAL_SEARCH_ATTRIBUTES: flag.default(true),
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
  const problems = temporalAuthProblems(e);
  if (problems.length > 0) throw new Error(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
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
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE, auth: temporalAuth(e), searchAttributes: e.TEMPORAL_SEARCH_ATTRIBUTES },
    embedded: {
      postgresPort: e.EMBEDDED_POSTGRES_PORT,
      temporalPort: e.EMBEDDED_TEMPORAL_PORT,
      temporalUiPort: e.EMBEDDED_TEMPORAL_UI_PORT ?? e.EMBEDDED_TEMPORAL_PORT + 1000,
    },
  };
}

type Env = z.output<typeof EnvSchema>;

/** How the processes authenticate to Temporal: nothing (plain gRPC), TLS, mTLS, or an API key over TLS. */
export interface TemporalAuth {
  tls: false | { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
  apiKey?: string;
}

/** Combinations that cannot work, each named by its variables (checked before anything connects). */
function temporalAuthProblems(e: Env): string[] {
  const problems: string[] = [];
  const cert = e.TEMPORAL_TLS_CERT_PATH !== undefined;
  const key = e.TEMPORAL_TLS_KEY_PATH !== undefined;
  if (cert !== key) problems.push(`TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mTLS needs the client certificate and its private key); only ${cert ? 'TEMPORAL_TLS_CERT_PATH' : 'TEMPORAL_TLS_KEY_PATH'} is set`);
  if (e.TEMPORAL_API_KEY !== undefined && (cert || key)) {
    problems.push('TEMPORAL_API_KEY and the mTLS pair TEMPORAL_TLS_CERT_PATH/TEMPORAL_TLS_KEY_PATH are two ways to authenticate: set one of them (a Temporal Cloud namespace accepts the one it was created with)');
  }
  const secured = cert || key || e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_TLS_CA_PATH !== undefined || e.TEMPORAL_TLS_SERVER_NAME !== undefined;
  if (e.TEMPORAL_TLS === false && secured) {
    problems.push('TEMPORAL_TLS=false contradicts the TLS settings given (TEMPORAL_TLS_*/TEMPORAL_API_KEY): an API key or a client certificate is only sent over TLS');
  }
  if (e.TEMPORAL_ADDRESS === undefined && (secured || e.TEMPORAL_TLS === true)) {
    problems.push('TEMPORAL_TLS*/TEMPORAL_API_KEY need TEMPORAL_ADDRESS (e.g. my-ns.a1b2c.tmprl.cloud:7233): the embedded dev server speaks plain gRPC on 127.0.0.1');
  }
  return problems;
}

function temporalAuth(e: Env): TemporalAuth {
  const on = e.TEMPORAL_TLS ?? (e.TEMPORAL_TLS_CERT_PATH !== undefined || e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_TLS_CA_PATH !== undefined || e.TEMPORAL_TLS_SERVER_NAME !== undefined);
  const tls: TemporalAuth['tls'] = on
    ? {
        ...(e.TEMPORAL_TLS_CERT_PATH ? { certPath: e.TEMPORAL_TLS_CERT_PATH } : {}),
        ...(e.TEMPORAL_TLS_KEY_PATH ? { keyPath: e.TEMPORAL_TLS_KEY_PATH } : {}),
        ...(e.TEMPORAL_TLS_CA_PATH ? { caPath: e.TEMPORAL_TLS_CA_PATH } : {}),
        ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
      }
    : false;
  return { tls, ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}) };
}
