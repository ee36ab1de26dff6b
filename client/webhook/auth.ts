import crypto from 'node:crypto';

/** Header carrying the shared secret itself: what a Marketo webhook can send (Admin → Webhooks → Set Custom Header). */
export const SECRET_HEADER = 'x-webhook-secret';
/** Header carrying `sha256=<hex HMAC of the raw body>`: for senders that can sign (relays, tests, other tools). */
export const SIGNATURE_HEADER = 'x-webhook-signature';

/** Constant-time equality of two strings of any length: both are hashed first, so lengths leak nothing. */
function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a, 'utf8').digest();
  const hb = crypto.createHash('sha256').update(b, 'utf8').digest();
  return crypto.timingSafeEqual(ha, hb);
}

export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

type Headers = Record<string, string | string[] | undefined>;

function single(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request carries credentials at all, and which kind: decides if the body must be read first. */
export function credentialKind(headers: Headers): 'secret' | 'signature' | 'none' {
  if (single(headers, SIGNATURE_HEADER) !== undefined) return 'signature';
  if (single(headers, SECRET_HEADER) !== undefined) return 'secret';
  return 'none';
}

export function verifySecretHeader(secret: string, headers: Headers): boolean {
  const given = single(headers, SECRET_HEADER);
  return given !== undefined && sameSecret(given, secret);
}

export function verifySignature(secret: string, headers: Headers, body: Buffer): boolean {
  const given = single(headers, SIGNATURE_HEADER);
  return given !== undefined && sameSecret(given.trim().toLowerCase(), signBody(secret, body));
}
