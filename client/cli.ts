#!/usr/bin/env node
import { Command } from 'commander';
import { runProgram } from './output/run.js';

type Register = (program: Command) => void;

/**
 * Every command, in help order, by the name its module registers. A command's module is imported
 * only when needed: some pull in the Temporal SDK and the whole sync stack (seconds of CPU), which
 * `errors list` or `emulator` never use.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Register>]> = [
  ['demo', async () => (await import('./commands/demo.js')).registerDemoCommand],
  ['worker', async () => (await import('./commands/worker.js')).registerWorkerCommand],
  ['bootstrap', async () => (await import('./commands/bootstrap.js')).registerBootstrapCommand],
  ['emulator', async () => (await import('./commands/emulator.js')).registerEmulatorCommand],
  ['webhook', async () => (await import('./commands/webhook.js')).registerWebhookCommand],
  ['mapping', async () => (await import('./commands/mapping.js')).registerMappingCommand],
  ['errors', async () => (await import('./commands/errors.js')).registerErrorsCommand],
  ['usage', async () => (await import('./commands/usage.js')).registerUsageCommand],
  ['sync', async () => (await import('./commands/sync.js')).registerSyncCommand],
  ['reconcile', async () => (await import('./commands/reconcile.js')).registerReconcileCommand],
];

/**
 * The commands this command line needs: when it starts with a command's name, that command alone
 * (its parsing, help and errors never mention the others); anything else (no command, top-level
 * options such as --help, `help <command>`, a mistyped name) needs all of them for the program's
 * help and commander's suggestions.
 */
function commandsFor(args: readonly string[]): typeof COMMANDS {
  const named = COMMANDS.find(([name]) => name === args[0]);
  return named ? [named] : COMMANDS;
}

/** `marketo-sync`: the operator's command line. Each command lives in client/commands/. */
const program = new Command('marketo-sync')
  .description('Durable two-way sync between Adobe Marketo Engage and a CRM, on Temporal')
  .showHelpAfterError();

const needed = commandsFor(process.argv.slice(2));
const registers = await Promise.all(needed.map(([, load]) => load()));
needed.forEach(([name], i) => {
  registers[i]!(program);
  // The table's name must be the one the module registers, or dispatch would miss the command.
  if (program.commands.at(-1)?.name() !== name) throw new Error(`client/cli.ts: the module listed as '${name}' registered '${program.commands.at(-1)?.name()}'`);
});

// Exit codes: docs/operations.md (0 ok, 1 failure, 2 bad usage, 3 not healthy, 4 input rejected).
await runProgram(program);
