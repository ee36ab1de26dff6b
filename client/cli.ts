#!/usr/bin/env node
import { Command } from 'commander';
import { registerBootstrapCommand } from './commands/bootstrap.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerErrorsCommand } from './commands/errors.js';
import { registerMappingCommand } from './commands/mapping.js';
import { registerReconcileCommand } from './commands/reconcile.js';
import { registerUsageCommand } from './commands/usage.js';
import { registerSyncCommand } from './commands/sync.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerWebhookCommand } from './commands/webhook.js';
import { runProgram } from './output/run.js';

/** `marketo-sync`: the operator's command line. Each command lives in client/commands/. */
const program = new Command('marketo-sync')
  .description('Durable two-way sync between Adobe Marketo Engage and a CRM, on Temporal')
  .showHelpAfterError();

registerDemoCommand(program);
registerWorkerCommand(program);
registerBootstrapCommand(program);
registerEmulatorCommand(program);
registerWebhookCommand(program);
registerMappingCommand(program);
registerErrorsCommand(program);
registerUsageCommand(program);
registerSyncCommand(program);
registerReconcileCommand(program);

// Exit codes: docs/operations.md (0 ok, 1 failure, 2 bad usage, 3 not healthy, 4 input rejected).
await runProgram(program);
