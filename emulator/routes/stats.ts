import { success } from '../http/envelope.js';
import { json, type Route } from '../http/route.js';
import { centralDay } from '../limits.js';
import type { CallStats } from '../stats.js';

/** Usage statistics (marketo-api.md §12): today's and the last 7 days, Central time. */
export function statsRoutes(stats: CallStats): Route[] {
  const days = (now: number, n: number): string[] => Array.from({ length: n }, (_, i) => centralDay(now - (n - 1 - i) * 86_400_000));
  return [
    { method: 'GET', path: '/rest/v1/stats/usage.json', handler: (ctx) => json(success(ctx.requestId, stats.usage(days(ctx.now, 1)))) },
    { method: 'GET', path: '/rest/v1/stats/usage/last7days.json', handler: (ctx) => json(success(ctx.requestId, stats.usage(days(ctx.now, 7)))) },
    { method: 'GET', path: '/rest/v1/stats/errors.json', handler: (ctx) => json(success(ctx.requestId, stats.errors(days(ctx.now, 1)))) },
    { method: 'GET', path: '/rest/v1/stats/errors/last7days.json', handler: (ctx) => json(success(ctx.requestId, stats.errors(days(ctx.now, 7)))) },
  ];
}
