#!/usr/bin/env node
import { Command } from 'commander';
import { registerBootstrapCommand } from './commands/bootstrap.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerWebhookCommand } from './commands/webhook.js';
import { installTemporalLogging } from './runtime/temporal-logging.js';

/** `marketo-sync`: the operator's command line. Each command lives in client/commands/. */
const program = new Command('marketo-sync')
  .description('Durable two-way sync between Adobe Marketo Engage and a CRM, on Temporal')
  .showHelpAfterError();

installTemporalLogging();

registerDemoCommand(program);
registerWorkerCommand(program);
registerBootstrapCommand(program);
registerEmulatorCommand(program);
registerWebhookCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  console.error(`marketo-sync: ${(err as Error).message}`);
  process.exitCode = 1;
}
