import { z } from 'zod';

/**
 * Injected failures: a rule matches calls by path pattern (and optionally method) and either
 * fails a fraction of them (`rate`, drawn from a seeded PRNG so runs repeat) or the next
 * `count` of them. What a failure looks like: a Marketo error code in a 200 envelope, an HTTP
 * 502/503 from the "gateway", a reset connection, or only added latency.
 */
export const FaultRule = z
  .object({
    id: z.string().optional(),
    /** Path glob (`*` any characters), e.g. `/rest/v1/leads*`; default every API path. */
    path: z.string().default('*'),
    method: z.enum(['GET', 'POST', 'DELETE']).optional(),
    /** Marketo code to answer with (HTTP 200 envelope). */
    code: z.enum(['601', '602', '604', '606', '607', '608', '611', '614', '615', '713']).optional(),
    /** HTTP status to answer with instead (bodyless gateway error). */
    httpStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
    /** Destroy the socket without answering. */
    reset: z.boolean().optional(),
    /** Extra latency in ms before the call proceeds (alone: a slow-call fault). */
    latencyMs: z.number().int().min(0).optional(),
    /** Fraction of matching calls affected, 0..1. */
    rate: z.number().min(0).max(1).optional(),
    /** Affect only the next N matching calls, then the rule is spent. */
    count: z.number().int().positive().optional(),
  })
  .refine((r) => [r.code, r.httpStatus, r.reset].filter((x) => x !== undefined).length <= 1, {
    message: 'a fault rule takes at most one of code, httpStatus, reset',
  })
  .refine((r) => r.code !== undefined || r.httpStatus !== undefined || r.reset !== undefined || r.latencyMs !== undefined, {
    message: 'a fault rule needs code, httpStatus, reset or latencyMs',
  });
export type FaultRule = z.output<typeof FaultRule>;
export type FaultRuleInput = z.input<typeof FaultRule>;

export type FaultAction =
  | { kind: 'code'; code: string; latencyMs: number }
  | { kind: 'http'; status: number; latencyMs: number }
  | { kind: 'reset'; latencyMs: number }
  | { kind: 'latency'; latencyMs: number };

/** mulberry32: tiny, fast, good enough for reproducible fault draws and seed data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

interface LiveRule {
  rule: FaultRule;
  regex: RegExp;
  remaining: number | undefined;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private random: () => number;
  private nextId = 1;

  constructor(rules: FaultRuleInput[] = [], seed = 1) {
    this.random = prng(seed);
    for (const r of rules) this.add(r);
  }

  add(input: FaultRuleInput): FaultRule {
    const rule = FaultRule.parse(input);
    if (!rule.id) rule.id = `fault-${this.nextId++}`;
    this.rules.push({ rule, regex: globToRegex(rule.path), remaining: rule.count });
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.rule.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  reseed(seed: number): void {
    this.random = prng(seed);
  }

  list(): (FaultRule & { remaining?: number })[] {
    return this.rules.map((r) => (r.remaining === undefined ? { ...r.rule } : { ...r.rule, remaining: r.remaining }));
  }

  /** The first matching rule that fires for this call; latency-only rules add up. */
  decide(method: string, path: string): FaultAction | undefined {
    let latencyMs = 0;
    for (const live of [...this.rules]) {
      const { rule } = live;
      if (rule.method && rule.method !== method) continue;
      if (!live.regex.test(path)) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      if (live.remaining !== undefined) {
        live.remaining -= 1;
        if (live.remaining <= 0) this.rules = this.rules.filter((r) => r !== live);
      }
      latencyMs += rule.latencyMs ?? 0;
      if (rule.code) return { kind: 'code', code: rule.code, latencyMs };
      if (rule.httpStatus) return { kind: 'http', status: rule.httpStatus, latencyMs };
      if (rule.reset) return { kind: 'reset', latencyMs };
    }
    return latencyMs > 0 ? { kind: 'latency', latencyMs } : undefined;
  }
}
