import type { CrmDescribe, CrmField, CrmRecord, CrmValue } from '../crm/connector.js';
import type { MarketoRecord } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/mapping-config.js';
import { marketoObject, type MarketoField, type MarketoObjectName, type MarketoSchemas } from '../mapping/marketo-schema.js';
import { marketoToCrm, type TransformOptions } from '../mapping/transforms.js';
import { sameValue } from './compare.js';
import type { FieldMismatch } from './report.js';

/** Turns the CRM id a reference field holds into the Marketo key of its target (null: no target). */
export type RefResolver = (crmId: string) => string | null | undefined;

interface PlainStep {
  kind: 'plain';
  marketo: MarketoField;
  crm: CrmField;
  options: TransformOptions;
}

interface RefStep {
  kind: 'ref';
  marketo: MarketoField;
  crm: CrmField;
  resolve: RefResolver;
}

type Step = PlainStep | RefStep;

/**
 * How one Marketo object's records compare with one CRM entity's: the mapping's enabled fields
 * that the sync writes into the CRM (`both`, `toCrm`), each Marketo value put through the same
 * transform the sync uses before comparing, so a representation difference is never reported.
 * Reference fields (account, owner, opportunity, contact) compare as Marketo keys: the CRM id is
 * translated to the key its target has in Marketo. Key fields are left to the keyed comparison.
 */
export class FieldComparer {
  /** Marketo fields to request so every compared field comes back. */
  readonly marketoFields: string[];
  readonly comparedFields: string[];

  private constructor(
    private readonly steps: Step[],
    readonly mapped: boolean,
  ) {
    this.marketoFields = steps.map((s) => s.marketo.name);
    this.comparedFields = steps.map((s) => s.crm.name);
  }

  static build(
    config: MappingConfig,
    marketo: MarketoObjectName,
    crm: string,
    schemas: MarketoSchemas,
    describe: CrmDescribe,
    options: { skipCrm?: readonly string[]; refs?: Partial<Record<string, RefResolver>> } = {},
  ): FieldComparer {
    const entity = config.entities.find((e) => e.marketo === marketo && e.crm === crm);
    const mObject = marketoObject(schemas, marketo);
    const cEntity = describe.entities.find((e) => e.name === crm);
    if (!entity?.enabled || !mObject || !cEntity) return new FieldComparer([], false);
    const skip = new Set(options.skipCrm ?? []);
    const steps: Step[] = [];
    for (const f of entity.fields) {
      if (!f.enabled || f.direction === 'toMarketo' || skip.has(f.crm)) continue;
      const m = mObject.fields.get(f.marketo);
      const c = cEntity.fields.find((x) => x.name === f.crm);
      if (!m || !c) continue;
      if (c.type === 'reference') {
        const resolve = c.references ? options.refs?.[c.references] : undefined;
        if (resolve) steps.push({ kind: 'ref', marketo: m, crm: c, resolve });
        continue;
      }
      steps.push({ kind: 'plain', marketo: m, crm: c, options: { valueMap: f.valueMap, truncate: f.truncate } });
    }
    return new FieldComparer(steps, true);
  }

  /** The differing CRM fields of one pair, or undefined when every compared field is equal. */
  compare(m: MarketoRecord, c: CrmRecord, key: string, showValues: boolean): FieldMismatch | undefined {
    const fields: string[] = [];
    const values: NonNullable<FieldMismatch['values']> = {};
    for (const step of this.steps) {
      // A field asked for but absent is null on Marketo's side (marketo-api.md §1.4).
      const raw = m[step.marketo.name] ?? null;
      let expected: CrmValue;
      let actual: CrmValue | undefined = c[step.crm.name];
      if (step.kind === 'ref') {
        expected = raw === null || raw === '' ? null : String(raw);
        actual = actual === null || actual === undefined ? null : (step.resolve(String(actual)) ?? `(unknown CRM ${step.crm.references} ${String(actual)})`);
      } else {
        const t = marketoToCrm(raw, step.marketo, step.crm, step.options);
        // A Marketo value the mapping cannot carry can never equal the CRM's: a real difference.
        expected = t.ok ? t.value : `(unmappable: ${t.error})`;
        // Marketo shows an unset checkbox as null/false; a NOT NULL boolean column holds it as false (as the sync writes it).
        if (expected === null && step.crm.type === 'boolean' && !step.crm.nullable) expected = false;
      }
      if (sameValue(expected, actual)) continue;
      fields.push(step.crm.name);
      if (showValues) values[step.crm.name] = { marketo: raw, crm: actual };
    }
    if (fields.length === 0) return undefined;
    return showValues ? { key, fields, values } : { key, fields };
  }
}
