import type { CrmValue } from '../crm/connector.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Whether a value the mapping produced equals what the CRM holds. Representations differ while
 * the value is the same: numbers as strings (`"12.50"` vs `12.5`), instants in other offsets or
 * precisions, emails in another case. Anything else must be equal as text.
 */
export function sameValue(expected: CrmValue | undefined, actual: CrmValue | undefined): boolean {
  const e = expected ?? null;
  const a = actual ?? null;
  if (e === null || a === null) return e === a;
  if (typeof e === 'boolean' || typeof a === 'boolean') return String(e) === String(a);
  const es = String(e);
  const as = String(a);
  if (es === as) return true;
  if ((typeof e === 'number' || typeof a === 'number' || /^-?\d+(\.\d+)?$/.test(es)) && Number.isFinite(Number(es)) && Number(es) === Number(as)) return true;
  if (ISO_INSTANT.test(es) && ISO_INSTANT.test(as)) return Date.parse(es) === Date.parse(as);
  if (es.includes('@') && es.toLowerCase() === as.toLowerCase()) return true;
  return false;
}
