/**
 * Exit codes every command keeps to, so scripts and health checks can branch on them
 * (docs/operations.md lists them). Commander's own parse errors map to `usage`.
 */
export const ExitCode = {
  ok: 0,
  /** Something went wrong: a service unreachable, an unexpected error. Retrying may help. */
  failure: 1,
  /** The command line or the configuration is wrong: unknown option, bad value, bad env variable. */
  usage: 2,
  /** The command worked and found a problem: reconciliation differences, a spent quota, an unhealthy sync. */
  notHealthy: 3,
  /** The input was checked and refused (e.g. a mapping file with errors); nothing was changed. */
  rejected: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that knows the exit code it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Machine-readable details printed with --json. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}
