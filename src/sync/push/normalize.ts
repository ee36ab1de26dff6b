import type { CrmRecord } from '../../crm/connector.js';
import { marketoObject, type MarketoObjectName } from '../../mapping/marketo-schema.js';
import type { PushContext } from './context.js';

const INTEGRAL_DECIMAL = /^([-+]?\d+)\.0*$/;

/**
 * CRM decimals arrive as strings (`"40.0000"` for a percent). Marketo keeps some of them as
 * integers (opportunity `probability`), and the mapping's integer transform refuses a string
 * with a fraction even when the fraction is zero. These are the CRM fields where that happens.
 */
export function integralDecimalFields(context: PushContext, crm: string, marketo: MarketoObjectName): Set<string> {
  const entity = context.config.entities.find((e) => e.marketo === marketo && e.crm === crm);
  const mObject = marketoObject(context.schemas, marketo);
  const cEntity = context.describe.entities.find((e) => e.name === crm);
  const out = new Set<string>();
  if (!entity || !mObject || !cEntity) return out;
  for (const f of entity.fields) {
    const m = mObject.fields.get(f.marketo);
    const c = cEntity.fields.find((x) => x.name === f.crm);
    if (m && c && (m.dataType === 'integer' || m.dataType === 'score') && (c.type === 'decimal' || c.type === 'currency' || c.type === 'percent')) out.add(c.name);
  }
  return out;
}

/** Drops a zero fraction (lossless) from the given fields; any other value is left for the mapping to judge. */
export function normalizeCrmRecord(record: CrmRecord, integralFields?: ReadonlySet<string>): CrmRecord {
  if (!integralFields || integralFields.size === 0) return record;
  const out = { ...record };
  for (const name of integralFields) {
    const v = out[name];
    if (typeof v !== 'string') continue;
    const m = INTEGRAL_DECIMAL.exec(v.trim());
    if (m) out[name] = Number(m[1]);
  }
  return out;
}
