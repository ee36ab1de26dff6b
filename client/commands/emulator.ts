import type { Command } from 'commander';

// Placeholder wiring; the emulator issue fills in the options and starts the server.
export function registerEmulatorCommand(program: Command): void {
  program.command('emulator').description('run the Marketo API emulator');
}
