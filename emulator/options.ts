import { z } from 'zod';
import { FaultRule } from './faults.js';
import { SeedOptions } from './seed.js';
import { BulkOptions } from './bulk/options.js';

export const LimitsOptions = z.object({
  rateLimitCalls: z.number().int().positive().default(100),
  rateWindowMs: z.number().int().positive().default(20_000),
  maxConcurrent: z.number().int().positive().default(10),
  dailyQuota: z.number().int().positive().default(50_000),
  /** Records per sync/delete call and per page (lead database). */
  maxBatch: z.number().int().positive().default(300),
  /** filterValues per query. */
  maxFilterValues: z.number().int().positive().default(300),
  /** Leads a filter query may match before 1003 "Too many results match the filter". */
  maxFilterMatches: z.number().int().positive().default(1000),
  maxUriBytes: z.number().int().positive().default(8 * 1024),
  maxBodyBytes: z.number().int().positive().default(1024 * 1024),
  /** Bulk import routes declare this limit for their multipart bodies. */
  maxBulkBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
  /** Asset API `maxReturn` cap. */
  assetMaxReturn: z.number().int().positive().default(200),
  /** Activity rows one activities call examines before answering a short page with moreResult. */
  activityScanLimit: z.number().int().positive().default(100_000),
});
export type LimitsOptions = z.output<typeof LimitsOptions>;

export const EmulatorOptions = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  clientId: z.string().min(1).default('emulator-client-id'),
  clientSecret: z.string().min(1).default('emulator-client-secret'),
  /** Email of the API-only user owning the LaunchPoint service: the token's `scope`. */
  apiUserEmail: z.string().default('api-user@emulator.example'),
  /** Token pod suffix after the UUID. */
  tokenSuffix: z.string().default('int'),
  tokenTtlSeconds: z.number().int().positive().default(3600),
  /** Accept the legacy `access_token` query/form parameter (Marketo is retiring it). */
  allowQueryToken: z.boolean().default(true),
  limits: LimitsOptions.prefault({}),
  /** Latency added to every API call, ms. */
  latencyMs: z.number().int().min(0).default(0),
  faults: z.array(FaultRule).default([]),
  /** Seed for the fault PRNG (rate-based faults repeat with the same seed). */
  faultSeed: z.number().int().default(1),
  seed: SeedOptions.optional(),
  /** Bulk extract/import: processing pace, queue sizes, export quota, retention, faults. */
  bulk: BulkOptions.prefault({}),
  /** Base clock (epoch ms) for tests; the admin clock endpoints offset it. */
  now: z.custom<() => number>((v) => typeof v === 'function', 'now must be a function returning epoch ms').optional(),
  /**
   * Keep the whole subscription in this file (and bulk files in `<file>.bulk`): loaded at start
   * when it exists (the seed is then ignored), else seeded and written; every call that changes
   * something is saved before it is answered. Without it the subscription lives in memory only.
   */
  stateFile: z.string().min(1).optional(),
  /** Log one line per call to stderr. */
  logRequests: z.boolean().default(false),
});
export type EmulatorOptions = z.input<typeof EmulatorOptions>;
export type ResolvedEmulatorOptions = z.output<typeof EmulatorOptions>;
