import { success } from '../http/envelope.js';
import { json, type Route } from '../http/route.js';
import { centralDay } from '../limits.js';

/** The last `n` Central-time days up to `now`, oldest first. */
const days = (now: number, n: number): string[] => Array.from({ length: n }, (_, i) => centralDay(now - (n - 1 - i) * 86_400_000));

/** Usage statistics (marketo-api.md §12): today's and the last 7 days, Central time. */
export const statsRoutes: Route[] = [
  { method: 'GET', path: '/rest/v1/stats/usage.json', handler: (ctx) => json(success(ctx.requestId, ctx.stats.usage(days(ctx.now, 1)))) },
  { method: 'GET', path: '/rest/v1/stats/usage/last7days.json', handler: (ctx) => json(success(ctx.requestId, ctx.stats.usage(days(ctx.now, 7)))) },
  { method: 'GET', path: '/rest/v1/stats/errors.json', handler: (ctx) => json(success(ctx.requestId, ctx.stats.errors(days(ctx.now, 1)))) },
  { method: 'GET', path: '/rest/v1/stats/errors/last7days.json', handler: (ctx) => json(success(ctx.requestId, ctx.stats.errors(days(ctx.now, 7)))) },
];
