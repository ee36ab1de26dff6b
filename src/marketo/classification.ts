/**
 * What to do about every error Marketo documents (marketo-api.md §4.2–§4.3) plus the transport failures seen
 * in practice. The client uses it for token renewal; activities use it to pick the Temporal failure
 * (retryable, retryable with `nextRetryDelay`, pause until the quota resets, or non-retryable).
 */

export type ErrorAction = 'retry' | 'retry-after' | 'reauth' | 'wait-for-quota-reset' | 'give-up';

export interface Classification {
  action: ErrorAction;
  /** For `retry-after`: the least wait; for `wait-for-quota-reset`: time until the next Chicago midnight. */
  delayMs?: number;
  /** For `wait-for-quota-reset`: when the daily quota is expected back. */
  resetAt?: Date;
  why: string;
}

export interface ClassificationEntry {
  /** Marketo's code as a string (as on the wire), or a transport pseudo-code such as `HTTP_413`. */
  code: string;
  message: string;
  meaning: string;
  action: ErrorAction;
  delayMs?: number;
  why: string;
}

const RATE_WINDOW_MS = 20_000;

function entry(
  code: string,
  message: string,
  meaning: string,
  action: ErrorAction,
  why: string,
  delayMs?: number,
): ClassificationEntry {
  return delayMs === undefined ? { code, message, meaning, action, why } : { code, message, meaning, action, why, delayMs };
}

const GIVE_UP_DATA = 'the request or record is wrong; repeating it returns the same answer';

/** Every code of marketo-api.md §4.2 (response level) and §4.3 (record level), in document order. */
export const CLASSIFICATION_TABLE: readonly ClassificationEntry[] = [
  // §4.2 response-level codes
  entry('502', 'Bad Gateway', 'upstream timeout inside Marketo', 'retry', 'transient gateway failure'),
  entry('500', 'Internal Server error', 'server fault (also malformed URLs)', 'retry', 'usually transient; a malformed URL keeps failing and exhausts the retries'),
  entry('600', 'Empty access token', 'no token reached Marketo', 'give-up', 'the client always sends a token, so this is a request-building bug'),
  entry('601', 'Access token invalid', 'bad or unknown token (also later uses of an expired token)', 'reauth', 'a fresh token fixes it'),
  entry('602', 'Access token expired', 'token expired', 'reauth', 'a fresh token fixes it'),
  entry('603', 'Access denied', 'API user role lacks the permission, or IP allowlist', 'give-up', 'needs an admin to change permissions'),
  entry('604', 'Request time-out', 'Marketo gave up on the call (30 s default)', 'retry', 'transient; a smaller batch helps if it repeats'),
  entry('605', 'HTTP Method not supported', 'wrong verb for the endpoint', 'give-up', 'client bug'),
  entry('606', "Max rate limit '%s' exceeded with in '%s' secs", 'more than 100 calls in 20 s on the instance', 'retry-after', 'the sliding window frees up after at most one window', RATE_WINDOW_MS),
  entry('607', 'Daily quota reached', 'daily call quota of the instance exhausted', 'wait-for-quota-reset', 'quota returns at 00:00 America/Chicago'),
  entry('608', 'API Temporarily Unavailable', 'Marketo is briefly unavailable', 'retry', 'transient'),
  entry('609', 'Invalid JSON', 'request body is not JSON', 'give-up', 'client bug'),
  entry('610', 'Requested resource not found', 'unknown URI', 'give-up', 'client bug or feature missing on the instance'),
  entry('611', 'System error', 'unhandled exception in Marketo', 'retry', 'transient'),
  entry('612', 'Invalid Content Type', 'missing or wrong Content-Type', 'give-up', 'client bug'),
  entry('613', 'Invalid Multipart Request', 'malformed multipart body', 'give-up', 'client bug'),
  entry('614', 'Invalid Subscription', 'subscription temporarily unreachable', 'retry', 'documented as temporary'),
  entry('615', 'Concurrent access limit reached', 'more than 10 calls in flight on the instance', 'retry-after', 'another call finishes within seconds', 2_000),
  entry('616', 'Invalid subscription type', 'feature (custom object metadata API) not licensed', 'give-up', 'licensing does not change by waiting'),
  entry('701', '%s cannot be blank', 'a required field is empty', 'give-up', GIVE_UP_DATA),
  entry('702', 'No data found for a given search scenario', 'nothing matched', 'give-up', GIVE_UP_DATA),
  entry('703', 'The feature is not enabled for the subscription', 'feature disabled', 'give-up', 'needs an admin or a licence'),
  entry('704', 'Invalid date format', 'bad date (or dynamic content id)', 'give-up', GIVE_UP_DATA),
  entry('709', 'Business Rule Violation', 'asset rule broken', 'give-up', GIVE_UP_DATA),
  entry('710', 'Parent Folder Not Found', 'unknown folder', 'give-up', GIVE_UP_DATA),
  entry('711', 'Incompatible Folder Type', 'folder of the wrong type', 'give-up', GIVE_UP_DATA),
  entry('712', 'Merge to person Account operation is invalid', 'SFDC person-account merge refused', 'give-up', GIVE_UP_DATA),
  entry('713', 'Transient Error', 'temporary resource issue', 'retry', 'documented as transient'),
  entry('714', 'Unable to find the default record type', 'merge cannot find the CRM record type', 'give-up', 'needs CRM configuration'),
  entry('718', 'ExternalSalesPersonID not found', 'opportunity names an unknown salesperson', 'give-up', 'the salesperson must be synced first'),
  entry('719', 'Lock wait timeout exception', 'lock contention inside Marketo', 'retry', 'transient'),
  // §4.3 record-level reason codes (also returned response-level by some calls)
  entry('1001', "Invalid value '%s'. Required of type '%s'", 'type mismatch', 'give-up', GIVE_UP_DATA),
  entry('1002', "Missing value for the required parameter '%s'", 'required parameter missing', 'give-up', GIVE_UP_DATA),
  entry('1003', 'Invalid data', 'validation catch-all (bad field value, too many filter matches, bad bulk filter …)', 'give-up', GIVE_UP_DATA),
  entry('1004', 'Lead not found', 'no lead matched (updateOnly, list operations)', 'give-up', GIVE_UP_DATA),
  entry('1005', 'Lead already exists', 'createOnly found a match', 'give-up', GIVE_UP_DATA),
  entry('1006', "Field '%s' not found", 'unknown field (schema drift)', 'give-up', 'the mapping names a field Marketo does not have'),
  entry('1007', 'Multiple leads match the lookup criteria', 'lookup key not unique', 'give-up', GIVE_UP_DATA),
  entry('1008', "Access denied to partition '%s'", 'no access to the partition', 'give-up', 'needs an admin'),
  entry('1009', 'Partition name must be specified', 'partition required', 'give-up', GIVE_UP_DATA),
  entry('1010', 'Partition update not allowed', 'record lives in another partition', 'give-up', GIVE_UP_DATA),
  entry('1011', "Field '%s' not supported", 'unsupported lookup field or filter type', 'give-up', GIVE_UP_DATA),
  entry('1012', "Invalid cookie value '%s'", 'bad munchkin cookie', 'give-up', GIVE_UP_DATA),
  entry('1013', 'Object not found', 'record, list or membership not found', 'give-up', GIVE_UP_DATA),
  entry('1014', 'Failed to create Object', 'creation failed inside Marketo', 'retry', 'community clients see it succeed on retry'),
  entry('1015', 'Lead not in list', 'lead is not a member', 'give-up', GIVE_UP_DATA),
  entry('1016', 'Too many imports', 'more than 10 imports queued', 'retry-after', 'a queue slot frees up as imports finish', 60_000),
  entry('1017', 'Object already exists', 'duplicate create', 'give-up', GIVE_UP_DATA),
  entry('1018', 'CRM Enabled', 'native CRM sync makes the object read-only', 'give-up', 'native CRM sync must be turned off'),
  entry('1019', 'Import in progress', 'target list is being imported', 'retry-after', 'the import finishes', 60_000),
  entry('1020', 'Too many clones to program', 'daily clone cap (20/day)', 'give-up', 'cap is per day; not a sync concern'),
  entry('1021', 'Company update not allowed', 'company fields written through Sync Leads', 'give-up', 'write them on the company instead'),
  entry('1022', 'Object in use', 'delete blocked by dependent records', 'give-up', 'dependants must be removed first; waiting alone does not help'),
  entry('1025', 'Program status not found', 'unknown program status', 'give-up', GIVE_UP_DATA),
  entry('1026', 'Custom object not enabled', 'custom objects disabled', 'give-up', 'needs an admin'),
  entry('1027', 'Max Activity Type Limit Reached', 'custom activity type cap', 'give-up', 'needs an admin'),
  entry('1028', 'Max field limit reached', 'secondary attribute cap', 'give-up', 'needs an admin'),
  entry('1029', 'Too many jobs in queue', 'bulk export queue full (10)', 'retry-after', 'a slot frees up as jobs finish', 60_000),
  entry('1035', 'Unsupported filter type', 'bulk filter not available on this subscription', 'give-up', 'switch strategy (createdAt path)'),
  entry('1036', 'Duplicate object found in input', 'same key twice in one batch', 'give-up', GIVE_UP_DATA),
  entry('1037', 'Lead was skipped', 'already in or past the status', 'give-up', 'nothing to do'),
  entry('1042', 'Invalid runAt date', 'runAt more than 2 years ahead', 'give-up', GIVE_UP_DATA),
  entry('1048', 'Custom Object Discard Draft Failed', 'draft discard failed', 'give-up', GIVE_UP_DATA),
  entry('1049', 'Failed to Create Activity', 'attributes larger than 65536 bytes', 'give-up', GIVE_UP_DATA),
  entry('1076', 'Merge Leads CRM failure', 'merge refused by the CRM', 'give-up', GIVE_UP_DATA),
  entry('1077', 'Merge Leads CRM failure', 'merge refused by the CRM', 'give-up', GIVE_UP_DATA),
  entry('1078', 'Merge Leads CRM failure', 'merge refused by the CRM', 'give-up', GIVE_UP_DATA),
  entry('1079', 'Merge Leads CRM failure', 'merge refused by the CRM', 'give-up', GIVE_UP_DATA),
  entry('1080', 'Too many leads to merge', 'more than 25 losing ids (text unverified)', 'give-up', 'split the merge'),
  // Transport-level failures (no Marketo envelope)
  entry('HTTP_401', 'invalid_client / unauthorized', 'identity endpoint rejected the client id or secret', 'give-up', 'credentials are wrong'),
  entry('HTTP_413', 'Request Entity Too Large', 'body over 1 MB (10 MB bulk import)', 'give-up', 'the caller must split the batch'),
  entry('HTTP_414', 'Request-URI Too Long', 'URI over 8 KB', 'give-up', 'client bug: long queries are tunnelled with _method=GET'),
  entry('HTTP_429', 'Too Many Requests', 'gateway throttling', 'retry-after', 'treated like 606', RATE_WINDOW_MS),
  entry('HTTP_5XX', 'HTTP 5xx', 'gateway or server failure without an envelope', 'retry', 'transient'),
  entry('HTTP_4XX', 'HTTP 4xx', 'other client error without an envelope', 'give-up', 'repeating it returns the same answer'),
  entry('NETWORK', 'connection reset / refused / socket hang up', 'the call did not complete on the wire', 'retry', 'transient; reads are safe to repeat and Marketo writes are keyed upserts'),
  entry('TIMEOUT', 'client timeout', 'no answer within the configured timeout', 'retry', 'transient'),
  entry('INVALID_RESPONSE', 'response does not match the documented shape', 'unexpected body', 'give-up', 'repeating it returns the same body; needs a code fix'),
  entry('UNKNOWN', 'undocumented error code', 'a code not in the documentation', 'give-up', 'unknown errors are not retried blindly'),
];

const byCode = new Map(CLASSIFICATION_TABLE.map((e) => [e.code, e]));

/** 1029 carries three different situations under one code; the message tells them apart. */
const BULK_1029_VARIANTS: { pattern: RegExp; classification: (now: Date) => Classification }[] = [
  {
    pattern: /daily quota/i,
    classification: (now) => quotaReset(now, 'bulk export daily byte quota exhausted; returns at 00:00 America/Chicago'),
  },
  {
    pattern: /already queued/i,
    classification: () => ({ action: 'give-up', why: 'the job is already queued: treat as success, do not enqueue again' }),
  },
];

function quotaReset(now: Date, why: string): Classification {
  const resetAt = quotaResetAt(now);
  return { action: 'wait-for-quota-reset', delayMs: resetAt.getTime() - now.getTime(), resetAt, why };
}

export function classificationEntry(code: string): ClassificationEntry | undefined {
  return byCode.get(code);
}

/** What the caller knows about its instance that sharpens a classification. */
export interface ClassifyContext {
  /** The instance's rate window when it is not Marketo's 20 s (scaled-down test instances): 606 waits one window. */
  rateWindowMs?: number;
}

/** The classification of one error occurrence; `message` matters only for codes that overload meaning (1029). */
export function classify(code: string, message = '', now: Date = new Date(), context: ClassifyContext = {}): Classification {
  if (code === '1029') {
    const variant = BULK_1029_VARIANTS.find((v) => v.pattern.test(message));
    if (variant) return variant.classification(now);
  }
  const found = byCode.get(code) ?? (/^5\d\d$/.test(code) ? byCode.get('HTTP_5XX') : undefined) ?? byCode.get('UNKNOWN');
  if (!found) throw new Error('classification table lost its UNKNOWN row');
  if (found.action === 'wait-for-quota-reset') return quotaReset(now, found.why);
  if ((code === '606' || code === 'HTTP_429') && context.rateWindowMs !== undefined) {
    return { action: found.action, delayMs: context.rateWindowMs, why: found.why };
  }
  return found.delayMs === undefined ? { action: found.action, why: found.why } : { action: found.action, delayMs: found.delayMs, why: found.why };
}

/** Classification for an HTTP status that came without a Marketo envelope. */
export function classifyHttpStatus(status: number, now: Date = new Date(), context: ClassifyContext = {}): { code: string; classification: Classification } {
  let code: string;
  if (status === 401 || status === 413 || status === 414 || status === 429) code = `HTTP_${status}`;
  else if (status >= 500) code = 'HTTP_5XX';
  else code = 'HTTP_4XX';
  return { code, classification: classify(code, '', now, context) };
}

// ---- quota reset maths -------------------------------------------------------------------------

export const QUOTA_TIME_ZONE = 'America/Chicago';

const chicagoParts = new Intl.DateTimeFormat('en-US', {
  timeZone: QUOTA_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

function wallClock(instant: number): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of chicagoParts.formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

/** Chicago's UTC offset (ms, negative) at an instant. */
function chicagoOffset(instant: number): number {
  const w = wallClock(instant);
  const wallAsUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s);
  return wallAsUtc - Math.floor(instant / 1000) * 1000;
}

/** The Chicago calendar day of an instant, `YYYY-MM-DD`: the key of the daily quota. */
export function quotaDay(now: Date): string {
  const w = wallClock(now.getTime());
  return `${w.y}-${String(w.m).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

/**
 * The next 00:00 America/Chicago strictly after `now`. US DST switches at 02:00, so local midnight always
 * exists exactly once; the offset is re-evaluated at the target instant so the CST/CDT change is honoured.
 */
export function quotaResetAt(now: Date): Date {
  const w = wallClock(now.getTime());
  const midnightWall = Date.UTC(w.y, w.m - 1, w.d + 1, 0, 0, 0);
  let instant = midnightWall - chicagoOffset(midnightWall);
  instant = midnightWall - chicagoOffset(instant);
  return new Date(instant);
}
