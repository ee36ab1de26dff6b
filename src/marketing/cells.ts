import { z } from 'zod';
import { parseMarketoDateTime } from '../marketo/dates.js';

/**
 * Cell parsers shared by the marketing record builders. Bulk files carry every value as text
 * (null already decoded by the parser); REST gives numbers, booleans and Dates. Each schema
 * accepts both so one builder serves the bootstrap's bulk rows and the sync loop's REST reads.
 */

export const intCell = z.union([z.number().int(), z.string().regex(/^-?\d+$/, 'expected an integer').transform(Number)]);
export const positiveIdCell = intCell.pipe(z.number().int().positive());

export const boolCell = z.union([
  z.boolean(),
  z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False', '1', '0']).transform((s) => s === '1' || s.toLowerCase() === 'true'),
]);

/** A Marketo datetime of any spelling (or a Date) → ISO-8601 UTC; a malformed one is refused, never shifted. */
export const instantCell = z.union([z.date(), z.string()]).transform((value, ctx) => {
  try {
    const date = typeof value === 'string' ? parseMarketoDateTime(value) : value;
    if (Number.isNaN(date.getTime())) throw new Error('invalid date');
    return date.toISOString();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Empty text means "not set" in Marketo (default programs have status ""): the CRM gets null. */
export const optionalText = z
  .string()
  .nullish()
  .transform((s) => (s === undefined || s === null || s === '' ? null : s));

/** A record a builder refused, naming the field (never its value: values may be personal data). */
export class MarketingRecordError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'MarketingRecordError';
  }
}

/** Parses with `schema` or throws a MarketingRecordError naming the first bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(record)';
  throw new MarketingRecordError(field, `${what}: ${field}: ${issue.message}`);
}

/** Refuses text longer than the CRM column instead of cutting it. */
export function bounded(field: string, value: string | null, max: number): string | null {
  if (value !== null && value.length > max) throw new MarketingRecordError(field, `${field} is ${value.length} characters, the CRM takes at most ${max}`);
  return value;
}

/** The CRM person (lead or contact) a Marketo lead id is linked to, from the id map. */
export interface PersonLink {
  crmType: string;
  crmId: string;
}

/** `lead_id` / `contact_id` columns of a row that points at a Marketo lead. */
export function personColumns(person: PersonLink | undefined): { lead_id: string | null; contact_id: string | null } {
  return {
    lead_id: person?.crmType === 'lead' ? person.crmId : null,
    contact_id: person?.crmType === 'contact' ? person.crmId : null,
  };
}
