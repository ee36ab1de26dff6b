#!/usr/bin/env node
import { Command } from 'commander';
import { registerEmulatorCommand } from './commands/emulator.js';

/** `marketo-sync`: the operator's command line. Each command lives in client/commands/. */
const program = new Command('marketo-sync')
  .description('Durable two-way sync between Adobe Marketo Engage and a CRM, on Temporal')
  .showHelpAfterError();

registerEmulatorCommand(program);

await program.parseAsync(process.argv);
