import { z } from 'zod';
import { MarketoObjectName } from './marketo-schema.js';

/**
 * The field mapping an operator edits (stored in the state store, exported as YAML). Objects are
 * strict: an unknown key, e.g. a typo like `marketoo:`, is an error rather than silently ignored.
 */

export const Direction = z.enum(['both', 'toCrm', 'toMarketo']);
export type Direction = z.infer<typeof Direction>;

export const FieldMapping = z.strictObject({
  marketo: z.string().min(1),
  crm: z.string().min(1),
  direction: Direction.default('both'),
  enabled: z.boolean().default(true),
  /** Picklist translation, Marketo value → CRM value (reversed for CRM → Marketo). */
  valueMap: z.record(z.string(), z.string()).optional(),
  /** Allow cutting text to the target's length instead of refusing the mapping. */
  truncate: z.boolean().default(false),
  /** Why the field was disabled by a schema refresh (kept so the operator sees it). */
  disabledReason: z.string().optional(),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

/** Marketo fields computed from CRM fields rather than copied (seed: opportunity special fields). */
export const DerivedRule = z.enum([
  /** expectedRevenue = amount × probability / 100, from the CRM fields mapped to amount and probability. */
  'expectedRevenue',
  /** stage = "Closed Won" / "Closed Lost" from the CRM's closed and won flags, else the CRM stage. */
  'stageFromClosedWon',
]);
export type DerivedRule = z.infer<typeof DerivedRule>;

export const DerivedField = z.strictObject({
  marketo: z.string().min(1),
  rule: DerivedRule,
  enabled: z.boolean().default(true),
});

export const EntityMapping = z.strictObject({
  marketo: MarketoObjectName,
  crm: z.string().min(1),
  enabled: z.boolean().default(true),
  fields: z.array(FieldMapping).default([]),
  derived: z.array(DerivedField).default([]),
});
export type EntityMapping = z.infer<typeof EntityMapping>;

/**
 * Which CRM record type a Marketo person is. By default the seed's rule: a person linked to a
 * company (externalCompanyId set) is a contact, otherwise a lead. Or a Marketo field holding
 * the type as text.
 */
export const LeadRouting = z.discriminatedUnion('by', [
  z.strictObject({ by: z.literal('externalCompanyId') }),
  z.strictObject({
    by: z.literal('field'),
    marketoField: z.string().min(1),
    values: z.strictObject({ lead: z.string().min(1), contact: z.string().min(1) }),
  }),
]);
export type LeadRouting = z.infer<typeof LeadRouting>;

export const MappingConfig = z
  .strictObject({
    version: z.literal(1),
    leadKey: z
      .strictObject({
        /** Custom Marketo lead field that holds the CRM primary key; the lookupField of lead upserts. */
        marketoField: z.string().min(1),
        /** CRM field that holds the Marketo lead id (makes Marketo → CRM upserts idempotent). */
        crmMarketoIdField: z.string().min(1).default('marketo_lead_id'),
      }),
    leadRouting: LeadRouting.default({ by: 'externalCompanyId' }),
    /** Stage names written to Marketo for closed opportunities. */
    stages: z.strictObject({ closedWon: z.string().min(1), closedLost: z.string().min(1) }).default({ closedWon: 'Closed Won', closedLost: 'Closed Lost' }),
    entities: z.array(EntityMapping),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.entities.forEach((e, i) => {
      const key = `${e.marketo} ⇄ ${e.crm}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['entities', i], message: `entity mapping ${key} appears twice` });
      seen.add(key);
      const targets = new Set<string>();
      e.fields.forEach((f, j) => {
        if (f.enabled && f.direction !== 'toMarketo') {
          if (targets.has(`crm:${f.crm}`)) ctx.addIssue({ code: 'custom', path: ['entities', i, 'fields', j, 'crm'], message: `${e.crm} field '${f.crm}' is written by two mappings` });
          targets.add(`crm:${f.crm}`);
        }
        if (f.enabled && f.direction !== 'toCrm') {
          if (targets.has(`mkt:${f.marketo}`)) ctx.addIssue({ code: 'custom', path: ['entities', i, 'fields', j, 'marketo'], message: `Marketo ${e.marketo} field '${f.marketo}' is written by two mappings` });
          targets.add(`mkt:${f.marketo}`);
        }
      });
    });
  });
export type MappingConfig = z.infer<typeof MappingConfig>;
export type MappingConfigInput = z.input<typeof MappingConfig>;

/** zod issues as one line each: `entities.0.fields.3.marketo: ...`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}
