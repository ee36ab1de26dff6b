import { CommanderError, type Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.js';

/** Commander exits by itself on parse errors; every command is told to throw instead, so one place picks the code. */
function throwInsteadOfExit(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExit(sub);
}

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof CommanderError) {
    // --help and --version end through the same path with exit code 0.
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  // `invalid configuration:` (src/config/env.ts, METRICS_*), `invalid webhook configuration:` (WEBHOOK_*).
  if (err instanceof Error && /^invalid (\w+ )?configuration:/.test(err.message)) return ExitCode.usage;
  return ExitCode.failure;
}

/**
 * Parses and runs the command line and sets the process exit code (docs/operations.md). With
 * `--json`, a failure is also one JSON document on stdout so a script never parses half output.
 */
export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  throwInsteadOfExit(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    reportFailure(program.name(), err, argv.includes('--json'));
  }
}

/**
 * Sets the exit code a failure means and says it: the message on stderr and, with `--json`, one
 * JSON document on stdout. Returns the code.
 */
export function reportFailure(name: string, err: unknown, json: boolean): ExitCode {
  const code = exitCodeOf(err);
  process.exitCode = code;
  if (code === ExitCode.ok) return code;
  // Commander has already printed its own parse errors to stderr.
  if (!(err instanceof CommanderError)) console.error(`${name}: ${(err as Error).message}`);
  if (json) {
    const details = err instanceof CliError ? err.details : undefined;
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message, exitCode: code, ...(details === undefined ? {} : { details }) })}\n`);
  }
  return code;
}
