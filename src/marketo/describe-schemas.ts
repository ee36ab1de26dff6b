import { z } from 'zod';
import { marketoDateTime } from './envelope.js';

/** A field as listed by describe2 and the object describes. */
export const fieldDescriptionSchema = z.looseObject({
  name: z.string().min(1),
  displayName: z.string().optional(),
  dataType: z.string().min(1),
  length: z.number().int().nullable().optional(),
  updateable: z.boolean(),
  crmManaged: z.boolean().optional(),
});
export type FieldDescription = z.output<typeof fieldDescriptionSchema>;

export const relationshipSchema = z.looseObject({
  field: z.string(),
  type: z.string(),
  relatedTo: z.looseObject({ name: z.string(), field: z.string() }).optional(),
});

/** Companies, opportunities, roles, salespersons and custom objects share this metadata shape (§5.3). */
export const objectMetadataSchema = z.looseObject({
  name: z.string().min(1),
  displayName: z.string().optional(),
  description: z.string().nullable().optional(),
  createdAt: marketoDateTime.optional(),
  updatedAt: marketoDateTime.optional(),
  idField: z.string().min(1),
  dedupeFields: z.array(z.string().min(1)),
  searchableFields: z.array(z.array(z.string().min(1))),
  fields: z.array(fieldDescriptionSchema).optional(),
  relationships: z.array(relationshipSchema).optional(),
});
export type ObjectMetadata = z.output<typeof objectMetadataSchema>;

/** describe2: one "API Lead" item with searchable keys and typed fields. */
export const leadDescribe2Schema = z.looseObject({
  name: z.string(),
  searchableFields: z.array(z.array(z.string().min(1))),
  fields: z.array(fieldDescriptionSchema),
});
export type LeadDescribe2 = z.output<typeof leadDescribe2Schema>;

/** Legacy describe: one item per field with optional REST/SOAP names. */
export const leadAttributeSchema = z.looseObject({
  id: z.number().int(),
  displayName: z.string(),
  dataType: z.string(),
  length: z.number().int().nullable().optional(),
  rest: z.looseObject({ name: z.string(), readOnly: z.boolean() }).optional(),
  soap: z.looseObject({ name: z.string(), readOnly: z.boolean() }).optional(),
});
export type LeadAttribute = z.output<typeof leadAttributeSchema>;
