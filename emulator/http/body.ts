import type { z } from 'zod';
import { MarketoError } from './envelope.js';

/**
 * Validates a JSON request body; a failure answers 1003 naming the offending field, or 701
 * "<field> cannot be blank" when a required member is missing (marketo-api.md §4.2).
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  if (issue?.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) throw new MarketoError('701', `${field} cannot be blank`);
  throw new MarketoError('1003', `Invalid value for field '${field}': ${issue?.message ?? 'invalid'}`);
}

export function checkBatch(input: unknown[], max: number): void {
  if (input.length > max) throw new MarketoError('1003', `Batch size exceeded, max ${max} records allowed`);
  if (input.length === 0) throw new MarketoError('701', 'input cannot be blank');
}
