import { InvalidArgumentError, type Command } from 'commander';
import type { EmulatorOptions } from '../../emulator/index.js';
import type { FaultRuleInput } from '../../emulator/faults.js';

function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(v);
  };
}

function fault(v: string, previous: FaultRuleInput[] = []): FaultRuleInput[] {
  try {
    return [...previous, JSON.parse(v) as FaultRuleInput];
  } catch {
    throw new InvalidArgumentError(`--fault takes a JSON rule, e.g. '{"code":"606","rate":0.1}'`);
  }
}

interface Opts {
  host: string;
  port: number;
  clientId?: string;
  clientSecret?: string;
  apiUserEmail?: string;
  tokenTtl?: number;
  rateLimitCalls?: number;
  rateWindowMs?: number;
  maxConcurrent?: number;
  dailyQuota?: number;
  latencyMs?: number;
  fault?: FaultRuleInput[];
  faultSeed?: number;
  seedLeads?: number;
  seedCompanies?: number;
  seedOpportunities?: number;
  seedCustomObjects?: number;
  seedPrograms?: number;
  seedLists?: number;
  seed?: number;
  logRequests?: boolean;
  stateFile?: string;
}

/** `marketo-sync emulator`: runs the Marketo API emulator until SIGINT/SIGTERM. */
export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description('run the Marketo API emulator (REST, identity, asset subset, bulk) on 127.0.0.1')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free port)', int('--port'), 0)
    .option('--client-id <id>', 'OAuth client id (default emulator-client-id)')
    .option('--client-secret <secret>', 'OAuth client secret (default emulator-client-secret)')
    .option('--api-user-email <email>', 'API user email (token scope)')
    .option('--token-ttl <seconds>', 'access token lifetime', int('--token-ttl'))
    .option('--rate-limit-calls <n>', 'calls per rate window (606 above)', int('--rate-limit-calls'))
    .option('--rate-window-ms <ms>', 'rate window length', int('--rate-window-ms'))
    .option('--max-concurrent <n>', 'concurrent calls (615 above)', int('--max-concurrent'))
    .option('--daily-quota <n>', 'calls per Central-time day (607 above)', int('--daily-quota'))
    .option('--latency-ms <ms>', 'latency added to every API call', int('--latency-ms'))
    .option('--fault <json>', 'fault rule (repeatable), e.g. \'{"path":"/rest/v1/leads*","code":"606","rate":0.1}\'', fault)
    .option('--fault-seed <n>', 'seed of the fault PRNG', int('--fault-seed'))
    .option('--seed-leads <n>', 'seed N leads (and the companies, opportunities, programs, lists and activities they imply)', int('--seed-leads'))
    .option('--seed-companies <n>', 'seeded companies (default leads/20)', int('--seed-companies'))
    .option('--seed-opportunities <n>', 'seeded opportunities (default companies/2)', int('--seed-opportunities'))
    .option('--seed-custom-objects <n>', 'seeded purchase_c records (default leads/10)', int('--seed-custom-objects'))
    .option('--seed-programs <n>', 'seeded programs (default 5)', int('--seed-programs'))
    .option('--seed-lists <n>', 'seeded static lists (default 5)', int('--seed-lists'))
    .option('--seed <n>', 'PRNG seed for seed data', int('--seed'))
    .option('--log-requests', 'log one line per API call to stderr')
    .option('--state-file <path>', 'keep the subscription in this file (bulk files in <path>.bulk): loaded when it exists (the seed options are then ignored), else seeded and written; every change is saved before it is answered')
    .action(async (opts: Opts) => {
      const limits: NonNullable<EmulatorOptions['limits']> = {};
      if (opts.rateLimitCalls !== undefined) limits.rateLimitCalls = opts.rateLimitCalls;
      if (opts.rateWindowMs !== undefined) limits.rateWindowMs = opts.rateWindowMs;
      if (opts.maxConcurrent !== undefined) limits.maxConcurrent = opts.maxConcurrent;
      if (opts.dailyQuota !== undefined) limits.dailyQuota = opts.dailyQuota;
      const seeding = [opts.seedLeads, opts.seedCompanies, opts.seedOpportunities, opts.seedCustomObjects, opts.seedPrograms, opts.seedLists].some((x) => x !== undefined);
      // The emulator loads here, not for `--help` (client/cli.ts).
      const { startEmulator } = await import('../../emulator/index.js');
      const emulator = await startEmulator({
        host: opts.host, port: opts.port, clientId: opts.clientId, clientSecret: opts.clientSecret, apiUserEmail: opts.apiUserEmail,
        tokenTtlSeconds: opts.tokenTtl, limits, latencyMs: opts.latencyMs, faults: opts.fault, faultSeed: opts.faultSeed,
        logRequests: opts.logRequests, stateFile: opts.stateFile,
        seed: seeding ? {
          leads: opts.seedLeads ?? 0, companies: opts.seedCompanies, opportunities: opts.seedOpportunities, customObjects: opts.seedCustomObjects,
          programs: opts.seedPrograms, lists: opts.seedLists, seed: opts.seed,
        } : undefined,
      });
      const id = emulator.runtime.options.clientId;
      console.log(`Marketo emulator listening on ${emulator.url} (client id ${id})`);
      if (emulator.seedSummary) console.error(`seeded: ${JSON.stringify(emulator.seedSummary)}`);
      if (opts.stateFile !== undefined) {
        const s = emulator.subscription;
        console.error(`state file ${opts.stateFile} holds ${s.leads.count} leads and ${s.activities.count} activities`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await emulator.close();
    });
}
