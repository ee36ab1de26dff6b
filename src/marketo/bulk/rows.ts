import { z } from 'zod';

/** The four bulk extract kinds; they share one queue and one daily quota at Marketo. */
export const exportKindSchema = z.enum(['leads', 'activities', 'programMembers', 'customObjects']);
export type ExportKind = z.infer<typeof exportKindSchema>;

const cell = z.string().nullable();
const integerCell = z.string().regex(/^-?\d+$/, 'expected an integer').transform(Number);
const nullableIntegerCell = integerCell.nullable();

/**
 * Lead, program-member and custom-object columns are whatever `fields` asked for, typed by the
 * subscription's describe; at this layer they stay text (or null) so nothing is coerced wrongly.
 */
export const recordRowSchema = z.record(z.string(), cell);
export type RecordRow = z.infer<typeof recordRowSchema>;

const attributeValue = z.unknown();
const legacyAttributeList = z.array(z.object({ name: z.string(), value: attributeValue }));

/** The `attributes` column is JSON: an object keyed by attribute name, or the older name/value list. */
const attributesCell = z
  .string()
  .nullable()
  .transform((text, ctx): unknown => {
    if (text === null || text === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'attributes is not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.union([
      z.record(z.string(), attributeValue),
      legacyAttributeList.transform((list) => Object.fromEntries(list.map((a) => [a.name, a.value]))),
    ]),
  );

/**
 * One bulk activity row. Every column is optional because `fields` may select a subset, but a
 * column that is present must have its documented type; unknown columns fail loudly.
 */
export const activityRowSchema = z
  .object({
    marketoGUID: z.string(),
    leadId: integerCell,
    activityDate: z.string(),
    activityTypeId: integerCell,
    campaignId: nullableIntegerCell,
    primaryAttributeValueId: nullableIntegerCell,
    primaryAttributeValue: cell,
    attributes: attributesCell,
    actionResult: z.enum(['succeeded', 'skipped', 'failed']).nullable(),
  })
  .partial()
  .strict();
export type ActivityRow = z.infer<typeof activityRowSchema>;

export interface RowByKind {
  leads: RecordRow;
  activities: ActivityRow;
  programMembers: RecordRow;
  customObjects: RecordRow;
}

export const rowSchemaByKind: { [K in ExportKind]: z.ZodType<RowByKind[K], unknown> } = {
  leads: recordRowSchema,
  activities: activityRowSchema,
  programMembers: recordRowSchema,
  customObjects: recordRowSchema,
};
