/**
 * Public API of the Marketo REST client. Everything an activity or the bulk APIs need is exported here.
 *
 *   const marketo = new MarketoClient({ baseUrl, clientId, clientSecret, limits: { dailyCalls: 50_000 } });
 *   const outcomes = await marketo.leads.sync({ lookupField: 'crmId', input });   // one outcome per record
 *   for await (const page of marketo.activities.iterate({ nextPageToken, activityTypeIds: [12, 13] })) …
 *
 * Every call goes through the token cache (601/602 renewed and replayed once), the limiter (sliding
 * window, connection cap, daily budget; in-process or PostgresRateLimiter for several workers) and the
 * classification table. Failures are `MarketoApiError` with `classification.action` one of
 * retry | retry-after | reauth | wait-for-quota-reset | give-up. Skipped records are outcomes, not errors.
 * `request()` / `requestStream()` are the low-level path the bulk APIs build on.
 */
export { MarketoClient, clientOptionsSchema, type MarketoClientOptions, type MarketoLogger, type ClientUsage } from './client.js';
export type { MarketoTransport } from './transport.js';
export {
  CLASSIFICATION_TABLE,
  classify,
  classifyHttpStatus,
  classificationEntry,
  quotaResetAt,
  quotaDay,
  QUOTA_TIME_ZONE,
  type Classification,
  type ClassificationEntry,
  type ClassifyContext,
  type ErrorAction,
} from './classification.js';
export { MarketoApiError, isMarketoApiError, type ErrorSource } from './errors.js';
export {
  InProcessRateLimiter,
  limitsSchema,
  type RateLimiter,
  type Release,
  type AcquireRequest,
  type LimiterUsage,
  type Limits,
  type LimitsInput,
  type ReleaseInfo,
} from './rate-limiter.js';
export { PostgresRateLimiter, type PostgresRateLimiterOptions } from './pg-rate-limiter.js';
export { ArrivalEstimator } from './arrival-estimator.js';
export { systemClock, type Clock } from './clock.js';
export { parseMarketoDateTime, formatMarketoDateTime, isMarketoDateTime } from './dates.js';
export {
  envelopeSchema,
  errorItemSchema,
  recordResultSchema,
  anyRecordSchema,
  marketoDateTime,
  serverTimeOfRequestId,
  type Envelope,
  type MarketoErrorItem,
  type MarketoWarning,
  type MarketoRecord,
  type RecordResult,
  type RecordStatus,
  type RecordReason,
} from './envelope.js';
export { encodeQuery, prepareRequest, endpointLabel, DEFAULT_MAX_URL_LENGTH, type RequestSpec, type RequestBody, type QueryParams, type StreamResponse } from './http.js';
export { paginateByToken, paginateByOffset, collectItems, toPage, type Page } from './paging.js';
export { toOutcomes, type RecordOutcome } from './results.js';
export { LeadsApi, leadSchema, type Lead, type LeadWithMembership, type LeadsByFilterQuery, type SyncLeadsRequest, type PagedQuery } from './leads.js';
export {
  ObjectApi,
  OBJECT_KINDS,
  customObjectKind,
  type ObjectKind,
  type MarketoObject,
  type ObjectQuery,
  type ObjectKeyQuery,
  type ObjectSyncRequest,
  type ObjectDeleteRequest,
} from './objects.js';
export { DescribeApi, type CustomObjectType } from './describe.js';
export type { ObjectMetadata, FieldDescription, LeadDescribe2, LeadAttribute } from './describe-schemas.js';
export { ActivitiesApi, type Activity, type ActivityType, type LeadChange, type ActivitiesQuery, type LeadChangesQuery, type DeletedLeadsQuery, type CustomActivityInput } from './activities.js';
export { ListsApi, type StaticList, type ListsQuery } from './lists.js';
export { ProgramsApi, type Program, type BrowseProgramsQuery } from './programs.js';
export { UsageStatsApi, type UsageDay, type ErrorsDay } from './usage.js';
