import type { Command } from 'commander';
import { z } from 'zod';
import type { EntityReport, LeadIdSetReport, ReconcileResult } from '../../src/reconcile/index.js';
import { RECONCILE_ENTITIES } from '../../src/reconcile/entities.js';
import { ExitCode, UsageError } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import { printResult, table } from '../output/print.js';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const instant = z.iso.datetime({ offset: true }).or(z.iso.date().transform((d) => `${d}T00:00:00Z`));

const optionsSchema = z.object({
  entities: z
    .string()
    .transform(list)
    .pipe(z.array(z.enum(RECONCILE_ENTITIES, { error: `takes a comma-separated list of: ${RECONCILE_ENTITIES.join(', ')}` })).min(1))
    .optional(),
  since: instant.optional(),
  until: instant.optional(),
  sample: z.coerce.number().int().min(0).max(100_000).default(20),
  activityTypes: z
    .string()
    .transform(list)
    .pipe(z.array(z.string().regex(/^\d+$/, 'activity type ids are positive integers').transform(Number)).min(1))
    .optional(),
  showValues: z.boolean().default(false),
  leadIds: z.boolean().default(false),
  pollInterval: z.coerce.number().int().min(1).optional(),
  windowDays: z.coerce.number().int().min(1).max(31).optional(),
  json: z.boolean().default(false),
});

function render(result: ReconcileResult, showValues: boolean): string {
  const rows = result.entities;
  const lines = [
    `Reconciliation of Marketo and the CRM (leads created ${result.since} .. ${result.until})`,
    table(rows, [
      { header: 'entity', value: (r: EntityReport) => r.entity },
      { header: 'marketo', value: (r) => r.marketo, right: true },
      { header: 'crm', value: (r) => r.crm, right: true },
      { header: 'matched', value: (r) => r.matched, right: true },
      { header: 'missing in CRM', value: (r) => r.missingInCrm.count, right: true },
      { header: 'missing in Marketo', value: (r) => r.missingInMarketo.count, right: true },
      { header: 'mismatched', value: (r) => r.mismatched.count, right: true },
      { header: 'duplicates', value: (r) => r.duplicates.count, right: true },
      { header: 'API calls', value: (r) => r.apiCalls, right: true },
    ]),
  ];
  for (const r of rows) {
    if (r.ok) continue;
    lines.push('', `${r.entity}:`);
    const keys = (label: string, t: { count: number; sample: string[] }) => {
      if (t.count > 0) lines.push(`  ${label} (${t.count}): ${t.sample.join(', ')}${t.count > t.sample.length ? ', …' : ''}`);
    };
    keys('missing in CRM', r.missingInCrm);
    keys('missing in Marketo', r.missingInMarketo);
    if (r.mismatched.count > 0) {
      lines.push(`  mismatched (${r.mismatched.count}):`);
      for (const m of r.mismatched.sample) {
        const shown = showValues && m.values ? m.values : undefined;
        const detail = m.fields.map((f) => (shown?.[f] ? `${f} (Marketo ${JSON.stringify(shown[f].marketo)} / CRM ${JSON.stringify(shown[f].crm)})` : f));
        lines.push(`    ${m.key}: ${detail.join(', ')}`);
      }
    }
    if (r.duplicates.count > 0) {
      lines.push(`  duplicates (${r.duplicates.count}): ${r.duplicates.sample.map((d) => `${d.key} (${d.side}${d.ids.length ? `: ${d.ids.join(', ')}` : ''})`).join('; ')}`);
    }
  }
  const notes = rows.flatMap((r) => r.notes.map((n) => `  ${r.entity}: ${n}`));
  if (notes.length) lines.push('', 'How each side was read:', ...notes);
  lines.push('', result.ok ? `No differences (${result.apiCalls} Marketo API calls).` : `${result.differences} difference(s) (${result.apiCalls} Marketo API calls).`);
  return lines.join('\n');
}

function renderIds(r: LeadIdSetReport): string {
  const ids = (label: string, values: number[]) => (values.length ? [`  ${label} (${values.length}): ${values.slice(0, 50).join(', ')}${values.length > 50 ? ', …' : ''}`] : []);
  return [
    `Lead ids: Marketo ${r.marketo}, CRM ${r.crm}`,
    ...ids('missing in CRM', r.missingInCrm),
    ...ids('missing in Marketo', r.missingInMarketo),
    ...ids('held by two CRM persons', r.duplicates),
    r.ok ? `No differences (${r.apiCalls} Marketo API calls).` : `${r.missingInCrm.length + r.missingInMarketo.length + r.duplicates.length} difference(s) (${r.apiCalls} Marketo API calls).`,
  ].join('\n');
}

/**
 * `marketo-sync reconcile [--entities ...] [--json] [--show-values]`: compares Marketo with the CRM
 * record by record (docs/reconcile.md). Exit 0 when there are no differences, 3 when there are,
 * 1 when the comparison could not run, 2 on bad options.
 */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('compare Marketo and the CRM record by record: missing either side, mismatched fields, duplicates (exit 3 on differences)')
    .option('--entities <list>', `entities to compare, comma-separated (default all: ${RECONCILE_ENTITIES.join(', ')})`)
    .option('--since <date>', 'compare Marketo leads and activities created from this date (default 5 years back)')
    .option('--until <date>', 'up to this date (default now)')
    .option('--sample <n>', 'keys listed per kind of difference (counts are always complete)', '20')
    .option('--activity-types <ids>', 'activity type ids to compare (default: the types the CRM holds)')
    .option('--show-values', 'print the differing values (personal data: only when you need them)')
    .option('--lead-ids', 'only compare the sets of lead ids (cheap: one id column per export)')
    .option('--poll-interval <ms>', 'bulk export status poll interval (Marketo refreshes status once a minute; lower it only for the emulator)')
    .option('--window-days <n>', 'bulk export window length in days (at most 31)')
    .option('--json', 'print the report as one JSON document')
    .action(async (raw: unknown) => {
      const opts = parseOptions(optionsSchema, raw);
      const { loadConfig } = await import('../../src/config/env.js');
      const config = loadConfig();
      if (config.marketo.kind !== 'remote') {
        throw new UsageError('reconcile compares a Marketo subscription with the CRM: set MARKETO_BASE_URL, MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET');
      }
      const [{ openTools }, { reconcile, reconcileLeadIds }] = await Promise.all([import('../runtime/tools.js'), import('../../src/reconcile/index.js')]);
      const tools = await openTools(config);
      // Progress on stderr: stdout stays the one report (or JSON document).
      const progress = (line: string) => process.stderr.write(`reconcile: ${line}\n`);
      const window = { ...(opts.pollInterval ? { pollIntervalMs: opts.pollInterval } : {}), ...(opts.windowDays ? { maxWindowDays: opts.windowDays } : {}) };
      try {
        if (opts.leadIds) {
          const until = opts.until ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
          const since = opts.since ?? new Date(Date.parse(until) - 5 * 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          const mapping = await tools.store.mappings.current();
          const report = await reconcileLeadIds(
            { marketo: tools.marketo, crm: tools.crm, progress },
            { since, until, ...window, ...(mapping ? { crmMarketoIdField: mapping.config.leadKey.crmMarketoIdField } : {}) },
          );
          printResult(opts, report, renderIds);
          if (!report.ok) process.exitCode = ExitCode.notHealthy;
          return;
        }
        const result = await reconcile(
          { marketo: tools.marketo, crm: tools.crm, store: tools.store, progress },
          {
            ...(opts.entities ? { entities: opts.entities } : {}),
            ...(opts.since ? { since: opts.since } : {}),
            ...(opts.until ? { until: opts.until } : {}),
            ...(opts.activityTypes ? { activityTypeIds: opts.activityTypes } : {}),
            sample: opts.sample,
            showValues: opts.showValues,
            ...window,
          },
        );
        printResult(opts, result, (r) => render(r, opts.showValues));
        // Not thrown: the report above is the one document a --json caller parses.
        if (!result.ok) process.exitCode = ExitCode.notHealthy;
      } finally {
        await tools.close();
      }
    });
}
