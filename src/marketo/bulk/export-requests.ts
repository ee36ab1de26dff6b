import { z } from 'zod';
import { exportFormatSchema } from './formats.js';
import type { ExportKind } from './rows.js';
import { validateWindow } from './windows.js';

/** A createdAt/updatedAt filter range: ≤31 days, ISO-8601 without millis, not before 2007 (checked before any call). */
export const dateRangeSchema = z
  .object({ startAt: z.string(), endAt: z.string() })
  .strict()
  .transform((range, ctx) => {
    try {
      return validateWindow(range);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : String(error) });
      return z.NEVER;
    }
  });

const fields = z.array(z.string().min(1)).min(1, 'fields is empty');
const common = {
  format: exportFormatSchema.default('CSV'),
  columnHeaderNames: z.record(z.string(), z.string().min(1)).optional(),
};
const positiveId = z.number().int().positive();

function exactlyOne(keys: readonly string[]) {
  return (filter: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const present = keys.filter((k) => filter[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `filter needs exactly one of ${keys.join(', ')} (got ${present.length ? present.join(', ') : 'none'})` });
    }
  };
}

const LEAD_FILTERS = ['createdAt', 'updatedAt', 'staticListId', 'staticListName', 'smartListId', 'smartListName'] as const;
export const leadExportRequestSchema = z
  .object({
    ...common,
    fields,
    filter: z
      .object({
        createdAt: dateRangeSchema.optional(),
        updatedAt: dateRangeSchema.optional(),
        staticListId: positiveId.optional(),
        staticListName: z.string().min(1).optional(),
        smartListId: positiveId.optional(),
        smartListName: z.string().min(1).optional(),
      })
      .strict()
      .superRefine(exactlyOne(LEAD_FILTERS)),
  })
  .strict();

/** Delete Lead (37) cannot be bulk-extracted: Marketo points to Get Deleted Leads instead. */
const DELETE_LEAD = 37;
export const activityExportRequestSchema = z
  .object({
    ...common,
    fields: fields.optional(),
    filter: z
      .object({
        createdAt: dateRangeSchema,
        activityTypeIds: z
          .array(positiveId)
          .min(1)
          .refine((ids) => !ids.includes(DELETE_LEAD), 'Delete Lead (37) is not exportable: use Get Deleted Leads')
          .optional(),
        primaryAttributeValueIds: z.array(positiveId).min(1).max(50).optional(),
        primaryAttributeValues: z.array(z.string().min(1)).min(1).max(50).optional(),
      })
      .strict()
      .superRefine((f, ctx) => {
        if (f.primaryAttributeValueIds && f.primaryAttributeValues) {
          ctx.addIssue({ code: 'custom', path: ['primaryAttributeValues'], message: 'primaryAttributeValueIds and primaryAttributeValues are mutually exclusive' });
        }
        if ((f.primaryAttributeValueIds || f.primaryAttributeValues) && !f.activityTypeIds) {
          ctx.addIssue({ code: 'custom', path: ['activityTypeIds'], message: 'primary attribute filters need activityTypeIds' });
        }
      }),
  })
  .strict();

export const programMemberExportRequestSchema = z
  .object({
    ...common,
    fields,
    filter: z
      .object({
        programId: positiveId.optional(),
        programIds: z.array(positiveId).min(1).max(10).optional(),
        isExhausted: z.boolean().optional(),
        nurtureCadence: z.enum(['paused', 'normal']).optional(),
        statusNames: z.array(z.string().min(1)).min(1).optional(),
        updatedAt: dateRangeSchema.optional(),
      })
      .strict()
      .superRefine(exactlyOne(['programId', 'programIds'])),
  })
  .strict();

const CUSTOM_OBJECT_FILTERS = ['updatedAt', 'staticListId', 'staticListName', 'smartListId', 'smartListName'] as const;
export const customObjectExportRequestSchema = z
  .object({
    ...common,
    fields,
    filter: z
      .object({
        updatedAt: dateRangeSchema.optional(),
        staticListId: positiveId.optional(),
        staticListName: z.string().min(1).optional(),
        smartListId: positiveId.optional(),
        smartListName: z.string().min(1).optional(),
      })
      .strict()
      .superRefine(exactlyOne(CUSTOM_OBJECT_FILTERS)),
  })
  .strict();

export const exportRequestSchemaByKind = {
  leads: leadExportRequestSchema,
  activities: activityExportRequestSchema,
  programMembers: programMemberExportRequestSchema,
  customObjects: customObjectExportRequestSchema,
} as const satisfies Record<ExportKind, z.ZodType>;

export type ExportRequestByKind = { [K in ExportKind]: z.input<(typeof exportRequestSchemaByKind)[K]> };
export type LeadExportRequest = ExportRequestByKind['leads'];
export type ActivityExportRequest = ExportRequestByKind['activities'];
