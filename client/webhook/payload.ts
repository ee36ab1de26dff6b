import { z } from 'zod';

/**
 * What the receiver needs from a webhook: the Marketo lead id, from the `{{lead.Id}}` token.
 * JSON token encoding sends it as a number; form encoding and hand-written templates as digits.
 * Other tokens the template carries are accepted and ignored: field values are read from
 * Marketo by id, never taken from the request.
 */
const LeadId = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, { error: 'must be the numeric Marketo lead id ({{lead.Id}})' }).transform(Number)], {
    error: 'must be the numeric Marketo lead id ({{lead.Id}})',
  })
  .pipe(z.number().int({ error: 'must be a whole number' }).positive({ error: 'must be positive' }).max(2_147_483_647, { error: 'is out of range' }));

export const WebhookPayload = z.looseObject({ leadId: LeadId });
export type WebhookPayload = z.output<typeof WebhookPayload>;

export class PayloadError extends Error {}

/** Decodes and validates a webhook body; the error names the field, never echoes its value. */
export function parseWebhookBody(raw: Buffer, contentType: string | undefined): WebhookPayload {
  const text = raw.toString('utf8');
  let value: unknown;
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    value = Object.fromEntries(new URLSearchParams(text));
  } else {
    // Marketo's default Content-Type is unverified: anything that is not a form is read as JSON.
    try {
      value = JSON.parse(text);
    } catch {
      throw new PayloadError('body: not valid JSON (use Request Token Encoding = JSON and an unquoted {{lead.Id}})');
    }
  }
  const parsed = WebhookPayload.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    throw new PayloadError(issue.code === 'invalid_type' && issue.path.length === 0 ? 'body: must be a JSON object' : `${field}: ${issue.message}`);
  }
  return parsed.data;
}
