import { z } from 'zod';
import { isMarketoDateTime, parseMarketoDateTime } from './dates.js';

/** Marketo sends codes as quoted integers; a bare number is tolerated and normalised to the wire form. */
export const codeSchema = z.union([z.string().regex(/^\d+$/, 'code must be numeric'), z.number().int()]).transform(String);

export const errorItemSchema = z.object({ code: codeSchema, message: z.string() });
export type MarketoErrorItem = z.output<typeof errorItemSchema>;

/** Lead DB warnings are `{code, message}`; the asset API sends plain strings. */
export const warningSchema = z.union([z.string(), z.object({ code: codeSchema, message: z.string() })]);
export type MarketoWarning = z.output<typeof warningSchema>;

/** A datetime in any of Marketo's spellings, turned into a Date. */
export const marketoDateTime = z
  .string()
  .refine(isMarketoDateTime, { message: 'expected a Marketo datetime (YYYY-MM-DDTHH:MM:SS with Z, +0000 or +00:00)' })
  .transform((s) => parseMarketoDateTime(s));

/**
 * The envelope shared by /rest/v1, /bulk/v1 and /rest/asset/v1. Known keys are checked strictly; unknown
 * top-level keys are tolerated (Marketo adds some per endpoint) and dropped.
 */
export function envelopeSchema<T extends z.ZodType>(item: T) {
  return z.object({
    requestId: z.string().min(1),
    success: z.boolean(),
    result: z.array(item).optional(),
    errors: z.array(errorItemSchema).optional(),
    warnings: z.array(warningSchema).optional(),
    nextPageToken: z.string().optional(),
    moreResult: z.boolean().optional(),
  });
}

export interface Envelope<T> {
  requestId: string;
  success: boolean;
  result?: T[];
  errors?: MarketoErrorItem[];
  warnings?: MarketoWarning[];
  nextPageToken?: string;
  moreResult?: boolean;
}

/** Only the parts needed to decide success vs. failure; used before the result items are validated. */
export const envelopeHeadSchema = z.object({
  requestId: z.string().optional(),
  success: z.boolean(),
  errors: z.array(errorItemSchema).optional(),
});

/** Any record: fields are arbitrary, so they stay `unknown` for the caller to map. */
export const anyRecordSchema = z.record(z.string(), z.unknown());
export type MarketoRecord = Record<string, unknown>;

// ---- record-level results (sync/delete/list membership) ----------------------------------------

export const recordStatusSchema = z.enum(['created', 'updated', 'deleted', 'skipped', 'added', 'removed', 'memberof', 'notmemberof']);
export type RecordStatus = z.output<typeof recordStatusSchema>;

const reasonSchema = errorItemSchema;
export type RecordReason = z.output<typeof reasonSchema>;

/**
 * One per-record outcome. Keys (`id`, `marketoGUID`, `leadId`…) vary by endpoint and stay in the record;
 * skipped items carry `reasons` (custom activities say `errors`, normalised into `reasons`).
 */
export const recordResultSchema = z
  .looseObject({
    seq: z.number().int().nonnegative().optional(),
    status: recordStatusSchema,
    id: z.number().int().optional(),
    marketoGUID: z.string().optional(),
    reasons: z.array(reasonSchema).optional(),
    errors: z.array(reasonSchema).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.status === 'skipped' && !(r.reasons?.length || r.errors?.length)) {
      ctx.addIssue({ code: 'custom', message: 'skipped record without reasons', path: ['reasons'] });
    }
  })
  .transform(({ errors, reasons, ...rest }) => {
    const merged = [...(reasons ?? []), ...(errors ?? [])];
    return merged.length > 0 ? { ...rest, reasons: merged } : rest;
  });

export type RecordResult = z.output<typeof recordResultSchema>;

// ---- requestId ----------------------------------------------------------------------------------

const REQUEST_ID_IN_BODY = /"requestId"\s*:\s*"[0-9a-fA-F]{1,8}#([0-9a-fA-F]{1,12})"/;
const PLAUSIBLE_FROM = Date.UTC(2000, 0, 1);
const PLAUSIBLE_TO = Date.UTC(2100, 0, 1);

/**
 * Marketo's requestId is `{node}#{server epoch ms in hex}` (marketo-api.md §1.5). Returns that server time,
 * or undefined when the id does not have this form or the time is implausible.
 */
export function serverTimeOfRequestId(requestId: string): number | undefined {
  const m = /^[0-9a-fA-F]{1,8}#([0-9a-fA-F]{1,12})$/.exec(requestId);
  return m ? plausible(parseInt(m[1]!, 16)) : undefined;
}

/** Same, read from a raw response body without parsing it (the limiter needs it before validation). */
export function serverTimeOfBody(body: string): number | undefined {
  const m = REQUEST_ID_IN_BODY.exec(body);
  return m ? plausible(parseInt(m[1]!, 16)) : undefined;
}

function plausible(ms: number): number | undefined {
  return ms >= PLAUSIBLE_FROM && ms < PLAUSIBLE_TO ? ms : undefined;
}
