import type { Command } from 'commander';
import { z } from 'zod';
import { LedgerStatus, type ErrorLedgerRepository, type LedgerEntry } from '../../src/store/error-ledger.js';
import { loadConfig } from '../../src/config/env.js';
import { UsageError } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import { printResult, table } from '../output/print.js';

/**
 * The ledger's list filters by status and entity only, so a code or operation filter reads this
 * many of the newest matching entries and filters them here (ask: ErrorLedgerRepository.list({ code, operation })).
 */
const CODE_SCAN_LIMIT = 100_000;

const filterShape = {
  entity: z.string().min(1).optional(),
  status: LedgerStatus.optional(),
  code: z.string().min(1).optional(),
  operation: z.string().min(1).optional(),
  json: z.boolean().default(false),
};

const listOptions = z.object({ ...filterShape, limit: z.coerce.number().int().positive().max(10_000).default(100) });

const changeOptions = z.object({ ...filterShape, all: z.boolean().default(false) });

const ids = z.array(z.string().regex(/^\d+$/, 'ledger ids are numbers (see `errors list`)'));

async function withLedger<T>(work: (ledger: ErrorLedgerRepository) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Postgres and the embedded services load here, not for `--help` (client/cli.ts).
  const [{ resolveServices }, { StateStore }] = await Promise.all([import('../runtime/services.js'), import('../../src/store/state-store.js')]);
  // The ledger lives in the state store only: no Marketo, no Temporal needed.
  const services = await resolveServices(config, { temporal: false, log: (line) => console.error(line) });
  try {
    const store = await StateStore.open({ connectionString: services.databaseUrl });
    try {
      return await work(store.errors);
    } finally {
      await store.close();
    }
  } finally {
    await services.stop();
  }
}

interface Filter {
  entity?: string | undefined;
  status?: LedgerStatus | undefined;
  code?: string | undefined;
  operation?: string | undefined;
}

async function select(ledger: ErrorLedgerRepository, f: Filter, limit: number): Promise<LedgerEntry[]> {
  if (!f.code && !f.operation) return ledger.list({ entity: f.entity, status: f.status, limit });
  const rows = await ledger.list({ entity: f.entity, status: f.status, limit: CODE_SCAN_LIMIT });
  return rows.filter((r) => (!f.code || r.code === f.code) && (!f.operation || r.operation === f.operation)).slice(0, limit);
}

function render(rows: LedgerEntry[], counts: Record<LedgerStatus, number>): string {
  const summary = `ledger: ${counts.open} open, ${counts.retrying} retrying, ${counts.ignored} ignored, ${counts.resolved} resolved`;
  if (rows.length === 0) return `${summary}\nno entries match`;
  return `${table(rows, [
    { header: 'ID', value: (r) => r.id, right: true },
    { header: 'ENTITY', value: (r) => r.entity },
    { header: 'RECORD', value: (r) => r.recordKey },
    { header: 'OPERATION', value: (r) => r.operation },
    { header: 'SOURCE', value: (r) => r.source },
    { header: 'CODE', value: (r) => r.code },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'TRIES', value: (r) => r.attempts, right: true },
    { header: 'LAST SEEN', value: (r) => r.lastSeen },
    { header: 'REASON', value: (r) => r.reason, max: 70 },
  ])}\n${summary}`;
}

/**
 * `errors retry|ignore`: by ids, or with --all by the same filters as `list` (at least one filter
 * or an explicit --all, so a bare command never touches the whole ledger).
 */
function registerChange(errors: Command, name: 'retry' | 'ignore', description: string): void {
  errors
    .command(name)
    .description(description)
    .argument('[ids...]', 'ledger entry ids (from `errors list`)')
    .option('--all', 'every entry matching the filters instead of ids')
    .option('--entity <name>', 'only this entity (with --all)')
    .option('--status <status>', `only this status (with --all): ${LedgerStatus.options.join(', ')}`)
    .option('--code <code>', 'only this error code (with --all)')
    .option('--operation <name>', 'only this operation, e.g. push, pull, write (with --all)')
    .option('--json', 'print { requested, changed } as JSON')
    .action(async (rawIds: string[], raw: unknown) => {
      const opts = parseOptions(changeOptions, raw);
      const given = parseOptions(ids, rawIds);
      if (opts.all === (given.length > 0)) throw new UsageError(`errors ${name}: give ledger ids, or --all with optional --entity/--status/--code/--operation filters`);
      const result = await withLedger(async (ledger) => {
        const targets = opts.all ? (await select(ledger, opts, CODE_SCAN_LIMIT)).map((r) => r.id) : given;
        const changed = targets.length ? await ledger[name](targets) : 0;
        return { requested: targets.length, changed };
      });
      const verb = name === 'retry' ? 'marked for retry (the next sync cycle picks them up)' : 'ignored';
      printResult(opts, result, (r) => `${r.changed} of ${r.requested} entries ${verb}${r.changed < r.requested ? '; the others were already resolved or not in a state that allows it' : ''}`);
    });
}

/** `marketo-sync errors list|retry|ignore`: the per-record failure ledger (src/store/error-ledger.ts). */
export function registerErrorsCommand(program: Command): void {
  const errors = program.command('errors').description('records that failed to sync: list them, retry them, or ignore them');

  errors
    .command('list')
    .description('list ledger entries, newest first')
    .option('--entity <name>', 'only this entity (lead, contact, account, opportunity, ...)')
    .option('--status <status>', `only this status: ${LedgerStatus.options.join(', ')}`)
    .option('--code <code>', 'only this error code (Marketo code such as 1003, or a CRM code)')
    .option('--operation <name>', 'only this operation (push, pull, write, ... as the OPERATION column shows)')
    .option('--limit <n>', 'at most this many entries (default 100)')
    .option('--json', 'print { counts, entries } as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(listOptions, raw);
      const result = await withLedger(async (ledger) => ({ counts: await ledger.counts(), entries: await select(ledger, opts, opts.limit) }));
      printResult(opts, result, (r) => render(r.entries, r.counts));
    });

  registerChange(errors, 'retry', 'ask for another attempt: open or ignored entries become retrying');
  registerChange(errors, 'ignore', 'stop retrying entries (they stay in the ledger as ignored)');
}
