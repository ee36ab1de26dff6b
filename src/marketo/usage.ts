import { z } from 'zod';
import { codeSchema } from './envelope.js';
import type { MarketoTransport } from './transport.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');

export const usageDaySchema = z.looseObject({
  date: day,
  total: z.number().int().nonnegative(),
  users: z.array(z.looseObject({ userId: z.string(), count: z.number().int().nonnegative() })).default([]),
});
export type UsageDay = z.output<typeof usageDaySchema>;

export const errorsDaySchema = z.looseObject({
  date: day,
  total: z.number().int().nonnegative(),
  errors: z.array(z.looseObject({ errorCode: codeSchema, count: z.number().int().nonnegative() })).default([]),
});
export type ErrorsDay = z.output<typeof errorsDaySchema>;

/** Marketo's own call accounting, to reconcile with the local counters. */
export class UsageStatsApi {
  constructor(private readonly t: MarketoTransport) {}

  async today(): Promise<UsageDay[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/stats/usage.json' }, usageDaySchema)).result ?? [];
  }

  async last7Days(): Promise<UsageDay[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/stats/usage/last7days.json' }, usageDaySchema)).result ?? [];
  }

  async errorsToday(): Promise<ErrorsDay[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/stats/errors.json' }, errorsDaySchema)).result ?? [];
  }

  async errorsLast7Days(): Promise<ErrorsDay[]> {
    return (await this.t.request({ method: 'GET', path: '/rest/v1/stats/errors/last7days.json' }, errorsDaySchema)).result ?? [];
  }
}
