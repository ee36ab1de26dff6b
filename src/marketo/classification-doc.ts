import { CLASSIFICATION_TABLE, type ErrorAction } from './classification.js';

const CLIENT_DOES: Record<ErrorAction, string> = {
  retry: 'throws `MarketoApiError` (action `retry`)',
  'retry-after': 'throws `MarketoApiError` with `delayMs`',
  reauth: 'drops the token, fetches a new one and replays the call once; throws if it fails again',
  'wait-for-quota-reset': 'throws with `resetAt` (next 00:00 America/Chicago); the limiter refuses locally the same way once the daily budget is spent',
  'give-up': 'throws `MarketoApiError` (action `give-up`)',
};

const ACTIVITY_SHOULD: Record<ErrorAction, string> = {
  retry: 'retryable `ApplicationFailure`, normal exponential backoff',
  'retry-after': 'retryable `ApplicationFailure` with `nextRetryDelay` = `delayMs` (plus jitter)',
  reauth: 'retryable `ApplicationFailure` (a second rejection in a row means the token service is unhealthy)',
  'wait-for-quota-reset': 'non-retryable failure carrying `resetAt`; the workflow sleeps until then and resumes (never a day-long `nextRetryDelay`)',
  'give-up': 'non-retryable `ApplicationFailure`; as a per-record reason: file the record in the error ledger and carry on',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** docs/error-classification.md, generated from the table so the two cannot drift (a test compares them). */
export function renderClassificationMarkdown(): string {
  const lines = [
    '# Marketo error classification',
    '',
    '<!-- Generated from src/marketo/classification.ts by renderClassificationMarkdown(); test/marketo/classification-doc.test.ts',
    '     fails when this file differs. Regenerate: UPDATE_DOCS=1 and run that test. -->',
    '',
    'Every code of marketo-api.md §4.2 (response level) and §4.3 (record level), plus transport failures.',
    '`classify(code, message, now)` returns `{ action, delayMs?, resetAt?, why }`; `MarketoApiError.classification` carries it.',
    '',
    'Actions: `retry` (now, with backoff) · `retry-after` (not before `delayMs`) · `reauth` (new token, replay) ·',
    '`wait-for-quota-reset` (until 00:00 America/Chicago, DST-correct) · `give-up` (repeating cannot help).',
    '606 and HTTP 429 wait one rate window: 20 s on Marketo, or the `limits.windowMs` the client was configured with',
    '(`classify(code, message, now, { rateWindowMs })`), so scaled-down test instances do not wait 20 s.',
    '',
    '| Code | Message | Meaning | Action | Client does | Activity should | Why |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of CLASSIFICATION_TABLE) {
    const action = e.delayMs !== undefined ? `${e.action} (${e.delayMs / 1000} s)` : e.action;
    lines.push(`| ${[e.code, e.message, e.meaning, action, CLIENT_DOES[e.action], ACTIVITY_SHOULD[e.action], e.why].map(cell).join(' | ')} |`);
  }
  lines.push(
    '',
    '## 1029 depends on the message',
    '',
    '| Message contains | Action | Activity should |',
    '|---|---|---|',
    `| \`daily quota\` (e.g. "Export daily quota 500MB exceeded.") | wait-for-quota-reset | ${ACTIVITY_SHOULD['wait-for-quota-reset']} |`,
    '| `already queued` | give-up | treat as success: the job is queued already |',
    '| anything else ("Too many jobs in queue") | retry-after (60 s) | wait for a free slot in the export queue |',
    '',
    '## Per-record reasons',
    '',
    'Batch writes (`leads.sync`, object `sync`/`delete`, `activities.addCustom`) never throw for a skipped record: they return',
    'one `RecordOutcome` per input record (`seq`, `status`, `reasons`). The 1xxx codes in `reasons` use the same table.',
    '',
  );
  return lines.join('\n');
}
