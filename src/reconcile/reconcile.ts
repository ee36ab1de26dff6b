import { z } from 'zod';
import type { MappingConfig } from '../mapping/mapping-config.js';
import { ReconcileContext, type ReconcileDeps } from './context.js';
import { reconcileActivities } from './activities.js';
import { reconcileCustomObjects } from './custom-objects.js';
import { reconcilePrograms, reconcileStaticLists } from './marketing.js';
import { reconcilePersons } from './persons-entity.js';
import type { EntityReport } from './report.js';
import { discoverRoles, emptyDiscovered, reconcileCompanies, reconcileOpportunities, reconcileRoles, reconcileSalesPersons } from './sales.js';

import { RECONCILE_ENTITIES } from './entities.js';

export { RECONCILE_ENTITIES };
export const ReconcileEntity = z.enum(RECONCILE_ENTITIES);
export type ReconcileEntity = z.infer<typeof ReconcileEntity>;

const instant = z.union([z.date().transform((d) => d.toISOString()), z.iso.datetime({ offset: true }), z.iso.date().transform((d) => `${d}T00:00:00Z`)]);

export const ReconcileOptions = z.strictObject({
  /** Entities to compare (default all). */
  entities: z.array(ReconcileEntity).min(1, 'entities is empty').optional(),
  /** Keys listed per difference kind and entity (counts are always complete). */
  sample: z.number().int().min(0).max(100_000).default(20),
  /** Put field values into mismatches (PII: only when the operator asks). */
  showValues: z.boolean().default(false),
  /** Marketo leads created in [since, until] are read by bulk export (default: the 5 years up to until). */
  since: instant.optional(),
  until: instant.optional(),
  /** Bulk export window length (≤ 31) and status poll interval; tests scale these down. */
  maxWindowDays: z.number().int().min(1).max(31).optional(),
  pollIntervalMs: z.number().int().min(1).optional(),
  /** Activity types to compare (default: the types the CRM holds in the window). */
  activityTypeIds: z.array(z.number().int().positive()).min(1).max(100).optional(),
  /** The mapping to compare with (default: the saved one, else the suggestion). */
  mapping: z.custom<MappingConfig>((v) => typeof v === 'object' && v !== null && 'entities' in v, { message: 'mapping must be a MappingConfig' }).optional(),
});
export type ReconcileOptions = z.input<typeof ReconcileOptions>;

export interface ReconcileResult {
  ok: boolean;
  /** Sum of every entity's differences (missing either side, mismatched, duplicates). */
  differences: number;
  /** Marketo calls of the whole run, Describe included. */
  apiCalls: number;
  since: string;
  until: string;
  startedAt: string;
  finishedAt: string;
  entities: EntityReport[];
}

const FIVE_YEARS_MS = 5 * 365 * 86_400_000;

/**
 * Compares Marketo with the CRM record by record, entity by entity, reading Marketo through its
 * API only (bulk lead exports, REST lookups 300 keys a call), so it runs against a real
 * subscription as well as the emulator. Returns a report per entity: counts on each side, records
 * missing on either side, records whose mapped fields differ (field names; values only with
 * `showValues`), and keys held twice. docs/reconcile.md describes what each entity compares.
 */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const parsed = ReconcileOptions.safeParse(options);
  if (!parsed.success) throw new Error(`invalid reconcile options: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const startedAt = new Date();
  const until = o.until ?? startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const since = o.since ?? new Date(Date.parse(until) - FIVE_YEARS_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const wanted = new Set<ReconcileEntity>(o.entities ?? RECONCILE_ENTITIES);
  const ctx = new ReconcileContext(deps, o.sample, o.showValues, o.mapping);
  const startCalls = ctx.calls();
  const found = emptyDiscovered();
  const reports: EntityReport[] = [];

  await Promise.all([ctx.schemas(), ctx.mapping(), ctx.crmDescribe()]);
  const window = { since, until, ...(o.maxWindowDays ? { maxWindowDays: o.maxWindowDays } : {}), ...(o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {}) };
  // The lead scan finds the lead ids and keys the object lookups start from.
  const needScan = ['persons', 'companies', 'salespersons', 'opportunities', 'roles', 'customObjects'].some((e) => wanted.has(e as ReconcileEntity));
  const step = (name: string) => deps.progress?.(`comparing ${name}`);
  if (needScan) {
    step(wanted.has('persons') ? 'persons (bulk lead export)' : 'lead ids and keys (bulk lead export)');
    const persons = await reconcilePersons(ctx, found, window, wanted.has('persons'));
    if (persons) reports.push(persons);
  }

  // Roles first: their opportunity ids are how Marketo's opportunities are found.
  const needRoles = wanted.has('roles') || wanted.has('opportunities') || wanted.has('companies') || wanted.has('salespersons');
  let roles: Awaited<ReturnType<typeof discoverRoles>> | undefined;
  let roleCalls = 0;
  if (needRoles) {
    step('opportunity roles (lookup by lead id)');
    const before = ctx.calls();
    const roleSchema = (await ctx.schemas()).opportunityRole;
    roles = await discoverRoles(ctx, found, roleSchema?.fields.map((f) => f.name) ?? []);
    roleCalls = ctx.calls() - before;
  }
  let opportunities: EntityReport | undefined;
  if (wanted.has('opportunities') || wanted.has('companies') || wanted.has('salespersons')) {
    // Opportunities name companies and salespersons too; compared even when not asked for, reported only when asked.
    opportunities = await reconcileOpportunities(ctx, found);
  }
  if (wanted.has('companies')) {
    step('companies');
    reports.push(await reconcileCompanies(ctx, found));
  }
  if (wanted.has('salespersons')) {
    step('salespersons');
    reports.push(await reconcileSalesPersons(ctx, found));
  }
  if (wanted.has('opportunities') && opportunities) reports.push(opportunities);
  if (wanted.has('roles')) {
    const report = await reconcileRoles(ctx, found, roles);
    report.apiCalls += roleCalls;
    reports.push(report);
  }
  if (wanted.has('customObjects')) {
    step('custom objects');
    reports.push(...(await reconcileCustomObjects(ctx, found)));
  }
  if (wanted.has('programs')) {
    step('programs and membership');
    reports.push(...(await reconcilePrograms(ctx)));
  }
  if (wanted.has('staticLists')) {
    step('static lists and membership');
    reports.push(...(await reconcileStaticLists(ctx)));
  }
  if (wanted.has('activities')) {
    step('activities (bulk activity export)');
    reports.push(await reconcileActivities(ctx, window, o.activityTypeIds));
  }

  const differences = reports.reduce((n, r) => n + r.differences, 0);
  deps.progress?.(`done: ${differences} difference(s), ${ctx.calls() - startCalls} Marketo API calls`);
  return {
    ok: differences === 0,
    differences,
    apiCalls: ctx.calls() - startCalls,
    since,
    until,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    entities: reports,
  };
}
