/**
 * A Marketo field value as text, or null when it holds nothing: REST answers null or '', and bulk
 * export CSV writes an empty field as the word `null`.
 */
export function textOrNull(v: unknown): string | null {
  return v === null || v === undefined || v === '' || v === 'null' ? null : String(v);
}
