/**
 * What must never reach a log line: credentials (OAuth client secret, access tokens, the webhook
 * secret, database passwords) and lead field values (PII). Logs carry ids, counts and codes.
 *
 * Keys are compared case-insensitively with separators removed, so `client_secret`,
 * `clientSecret` and `Client-Secret` are one key.
 */
const SECRET_KEYS = [
  'secret', 'clientsecret', 'webhooksecret', 'password', 'passwd', 'pwd', 'token', 'accesstoken', 'refreshtoken',
  'authorization', 'cookie', 'setcookie', 'apikey', 'xwebhooksecret', 'xmarketosignature', 'signature', 'hmac',
];

/**
 * Lead field names and the containers that hold field values (a record, a row, a request body):
 * a whole container is replaced, so a field name nobody listed cannot leak through it.
 */
const LEAD_VALUE_KEYS = [
  'email', 'emailaddress', 'firstname', 'lastname', 'middlename', 'fullname', 'name', 'phone', 'mobilephone', 'fax',
  'address', 'street', 'city', 'postalcode', 'dateofbirth', 'birthdate', 'title', 'company', 'website', 'ipaddress',
  'record', 'records', 'row', 'rows', 'lead', 'leads', 'input', 'fields', 'values', 'body', 'payload', 'data',
  'oldvalue', 'newvalue', 'primaryattributevalue', 'attributes', 'before', 'after', 'changes',
];

const norm = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');
const secretKeys = new Set(SECRET_KEYS.map(norm));
const leadKeys = new Set(LEAD_VALUE_KEYS.map(norm));

/** Key names whose values are replaced; for tests and docs. */
export const REDACTED_KEYS = { secrets: [...secretKeys], leadValues: [...leadKeys] };

export const REDACTED = '[redacted]';

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]*@/gi;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:-]+/gi;
const TOKEN_PARAM = /\b(access_token|client_secret|refresh_token|token)=[^&\s"']+/gi;

/** Masks secrets and e-mail addresses inside free text (messages, error strings, URLs). */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  let out = text.replace(URL_PASSWORD, '$1***@').replace(BEARER, '$1 ***').replace(TOKEN_PARAM, '$1=***').replace(EMAIL, '[email]');
  for (const s of extraSecrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

/**
 * A deep copy with secret and lead-value keys replaced and free text masked. Cycles and depth
 * are bounded so a log call can never hang or blow the stack.
 */
export function redactValue(value: unknown, extraSecrets: readonly string[] = [], depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value, extraSecrets);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, extraSecrets, depth + 1, seen));
  if (value instanceof Error) {
    const e: Record<string, unknown> = { type: value.name, message: redactText(value.message, extraSecrets) };
    if (value.stack) e.stack = redactText(value.stack, extraSecrets);
    for (const [k, v] of Object.entries(value)) e[k] = redactEntry(k, v, extraSecrets, depth, seen);
    return e;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactEntry(k, v, extraSecrets, depth, seen);
  return out;
}

function redactEntry(key: string, value: unknown, extraSecrets: readonly string[], depth: number, seen: WeakSet<object>): unknown {
  const k = norm(key);
  if (value === null || value === undefined) return value;
  if (secretKeys.has(k) || leadKeys.has(k)) return REDACTED;
  return redactValue(value, extraSecrets, depth + 1, seen);
}
