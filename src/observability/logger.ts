import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { z } from 'zod';
import { redactText, redactValue } from './redact.js';

export type { Logger } from 'pino';

export const LoggerOptions = z.object({
  /** `service` field of every line: worker, webhook, cli, ... */
  service: z.string().min(1),
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /**
   * Values known to be secret at start (client secret, webhook secret, the database password):
   * masked wherever they appear, even inside free text under an innocent key.
   */
  secrets: z.array(z.string()).default([]),
});
export type LoggerOptions = z.input<typeof LoggerOptions>;

/** Secret values of the process's own configuration, for `LoggerOptions.secrets`. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const key of ['MARKETO_CLIENT_SECRET', 'WEBHOOK_SECRET', 'TEMPORAL_API_KEY']) {
    const v = env[key];
    if (v) out.push(v);
  }
  if (env.DATABASE_URL) {
    try {
      const password = decodeURIComponent(new URL(env.DATABASE_URL).password);
      if (password) out.push(password);
    } catch {
      // Not a URL (a libpq keyword string): the URL pattern does not apply; nothing to add.
    }
  }
  return out;
}

/**
 * The one logger factory: JSON lines (pino) on stderr unless a destination is given, with secrets
 * and lead field values redacted from the bound fields, the logged objects and the messages.
 * Level from LOG_LEVEL (default info).
 */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const o = LoggerOptions.parse(options);
  const secrets = [...new Set(o.secrets.filter((s) => s.length > 0))];
  const level = o.level ?? (z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).safeParse(process.env.LOG_LEVEL).data as LevelWithSilent | undefined) ?? 'info';
  return pino(
    {
      level,
      base: { service: o.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are redacted by the log formatter below, not serialized raw.
      serializers: { err: (e: unknown) => redactValue(e, secrets) },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (b) => redactValue(b, secrets) as Record<string, unknown>,
        log: (obj) => redactValue(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        // Messages and printf-style arguments are free text: mask them too.
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? redactText(a, secrets) : a));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
