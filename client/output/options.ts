import { z } from 'zod';
import { UsageError } from './exit-codes.js';

/** Validates a command's options with zod; a wrong value is a usage error naming the option. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.map(String).join('.');
      const flag = name ? `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'arguments';
      return `${flag}: ${i.message}`;
    });
    throw new UsageError(lines.join('\n'));
  }
  return parsed.data;
}
