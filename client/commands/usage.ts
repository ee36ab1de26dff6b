import type { Command } from 'commander';
import { z } from 'zod';
import type { BulkExtractApi, ExportJob, ExportTarget } from '../../src/marketo/bulk/index.js';
import type { MarketoClient } from '../../src/marketo/index.js';
import { countsByEndpointFamily, totalCalls } from '../../src/observability/endpoint-label.js';
import { ExitCode } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import { printResult } from '../output/print.js';


export interface UsageReport {
  /** Marketo's quota day (America/Chicago), the day both budgets reset. */
  day: string;
  apiCalls: {
    /** Marketo's own count for today (stats/usage.json), every API user of the subscription. */
    marketo: number;
    byUser: { userId: string; count: number }[];
    /** What this deployment's clients counted today in the shared limiter (null: per-process limiter, nothing shared to read). */
    client: number | null;
    clientByEndpoint: Record<string, number>;
    quota: number;
    remaining: number;
  };
  bulkExport: {
    /** Bytes of the export files finished today, from Marketo's job lists (own jobs of the API user). */
    bytes: number;
    mb: number;
    jobs: number;
    quotaMb: number;
    remainingMb: number;
  };
  /** Marketo's error counts for today by code (stats/errors.json). */
  errorsToday: { code: string; count: number }[];
  /** Calls this report itself cost (Marketo counts them too). */
  callsSpentByThisReport: number;
  exhausted: boolean;
}

const MB = 1024 * 1024;

async function allJobs(bulk: BulkExtractApi, target: ExportTarget): Promise<ExportJob[]> {
  const jobs: ExportJob[] = [];
  let nextPageToken: string | undefined;
  do {
    const page = await bulk.list(target, { status: ['Completed'], batchSize: 300, nextPageToken });
    jobs.push(...page.jobs);
    nextPageToken = page.nextPageToken;
  } while (nextPageToken);
  return jobs;
}

/** Marketo counts the size of every export file finished on its day; its job lists keep 7 days. */
async function exportBytesToday(marketo: MarketoClient, bulk: BulkExtractApi, day: string, quotaDay: (at: Date) => string): Promise<{ bytes: number; jobs: number }> {
  const targets: ExportTarget[] = [{ kind: 'leads' }, { kind: 'activities' }, { kind: 'programMembers' }];
  for (const type of await marketo.describe.customObjects()) targets.push({ kind: 'customObjects', apiName: type.name });
  let bytes = 0;
  let jobs = 0;
  for (const target of targets) {
    for (const job of await allJobs(bulk, target)) {
      if (!job.finishedAt || quotaDay(new Date(job.finishedAt)) !== day) continue;
      bytes += job.fileSize ?? 0;
      jobs++;
    }
  }
  return { bytes, jobs };
}

function pct(used: number, quota: number): string {
  return quota > 0 ? `${((used / quota) * 100).toFixed(1)}%` : '-';
}

function render(r: UsageReport): string {
  const a = r.apiCalls;
  const b = r.bulkExport;
  const lines = [
    `Marketo usage for ${r.day} (America/Chicago day; both budgets reset at its midnight)`,
    `  API calls        ${a.marketo} of ${a.quota} (${pct(a.marketo, a.quota)}), ${a.remaining} left   [Marketo stats/usage]`,
    a.client === null
      ? '  this deployment  not tracked across processes (MARKETO_LIMITER=process)'
      : `  this deployment  ${a.client} calls counted by its shared limiter`,
    `  bulk export      ${b.mb.toFixed(1)} MB of ${b.quotaMb} MB (${pct(b.mb, b.quotaMb)}) in ${b.jobs} files, ${b.remainingMb.toFixed(1)} MB left`,
  ];
  if (a.byUser.length) lines.push(`  by API user      ${a.byUser.map((u) => `${u.userId} ${u.count}`).join(', ')}`);
  if (r.errorsToday.length) lines.push(`  errors today     ${r.errorsToday.map((e) => `${e.code}×${e.count}`).join(', ')}`);
  lines.push(`  (this report cost ${r.callsSpentByThisReport} calls)`);
  if (r.exhausted) lines.push('QUOTA SPENT: the sync waits for the reset at midnight America/Chicago');
  return lines.join('\n');
}

/**
 * `marketo-sync usage`: API calls and bulk-export megabytes spent today against the daily quotas,
 * from Marketo's own accounting (stats/usage, export job lists) and the deployment's shared counters.
 * Exit code 3 when a budget is spent.
 */
export function registerUsageCommand(program: Command): void {
  program
    .command('usage')
    .description("API calls and bulk export MB spent today vs the daily quotas (Marketo's stats and this deployment's counters)")
    .option('--json', 'print the report as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(z.object({ json: z.boolean().default(false) }), raw);
      // The Marketo client and the services load here, not for `--help` (client/cli.ts).
      const [{ openTools }, { BulkExtractApi }, { quotaDay }] = await Promise.all([import('../runtime/tools.js'), import('../../src/marketo/bulk/index.js'), import('../../src/marketo/index.js')]);
      const tools = await openTools();
      let report: UsageReport;
      try {
        const { marketo, config, sharedLimiter } = tools;
        // This process's own calls: with the shared limiter `dailyCalls` is the deployment's total,
        // known only after a first call, so its difference would count every process of the day.
        const ownCalls = () => totalCalls(marketo.usage().perEndpoint);
        const before = ownCalls();
        const usage = await marketo.stats.today();
        const errors = await marketo.stats.errorsToday();
        const day = usage[0]?.date ?? quotaDay(new Date());
        const exports = await exportBytesToday(marketo, new BulkExtractApi(marketo), day, quotaDay);
        const shared = sharedLimiter ? await sharedLimiter.sharedUsage() : undefined;
        const spent = ownCalls() - before;
        const today = usage.find((u) => u.date === day);
        const calls = today?.total ?? 0;
        const quotaMb = config.limits.dailyExportBytes / MB;
        const mb = exports.bytes / MB;
        report = {
          day,
          apiCalls: {
            marketo: calls,
            byUser: today?.users.map((u) => ({ userId: u.userId, count: u.count })) ?? [],
            client: shared ? shared.total : null,
            clientByEndpoint: countsByEndpointFamily(shared?.perEndpoint ?? {}),
            quota: config.limits.dailyCalls,
            remaining: Math.max(0, config.limits.dailyCalls - calls),
          },
          bulkExport: { bytes: exports.bytes, mb, jobs: exports.jobs, quotaMb, remainingMb: Math.max(0, quotaMb - mb) },
          errorsToday: (errors.find((e) => e.date === day)?.errors ?? []).map((e) => ({ code: e.errorCode, count: e.count })),
          callsSpentByThisReport: spent,
          exhausted: calls >= config.limits.dailyCalls || mb >= quotaMb,
        };
      } finally {
        await tools.close();
      }
      printResult(opts, report, render);
      // Not thrown: the report above is the one document a --json caller parses.
      if (report.exhausted) process.exitCode = ExitCode.notHealthy;
    });
}
