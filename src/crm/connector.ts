import { z } from 'zod';

/**
 * The contract between the sync and a CRM. The sync workflows only ever talk to a CRM through
 * this interface; docs/crm-connector.md explains how to implement it for another CRM.
 *
 * Records are flat objects keyed by CRM field name. Values are JSON-friendly: strings, numbers,
 * booleans, null; dates as `YYYY-MM-DD`, datetimes as ISO-8601 UTC strings, decimals as strings
 * (no float rounding of money).
 */

/** Standard entities; custom objects are `custom:<name>`. Marketo leads map to `lead` or `contact`. */
export const StandardEntity = z.enum([
  'lead', 'contact', 'account', 'opportunity', 'opportunityRole', 'user',
  // Marketo-only objects carried into the CRM (one way): programs as campaigns, static lists, activities.
  'campaign', 'campaignMember', 'staticList', 'listMember', 'activity',
]);
export type StandardEntity = z.infer<typeof StandardEntity>;
export const CrmEntityName = z.union([StandardEntity, z.string().regex(/^custom:[A-Za-z][A-Za-z0-9_]{0,55}$/)]);
export type CrmEntityName = z.infer<typeof CrmEntityName>;

export const CrmFieldType = z.enum([
  'string', 'text', 'email', 'phone', 'url', 'integer', 'decimal', 'currency', 'percent',
  'boolean', 'date', 'datetime', 'reference',
]);
export type CrmFieldType = z.infer<typeof CrmFieldType>;

export const CrmField = z.object({
  name: z.string().min(1),
  type: CrmFieldType,
  /** Maximum characters for string-like fields; absent = unbounded. */
  length: z.number().int().positive().optional(),
  nullable: z.boolean(),
  /** False for keys and fields the CRM maintains itself (id, updated_at, ...). */
  updateable: z.boolean(),
  /** Usable as an upsert key (unique). */
  unique: z.boolean(),
  custom: z.boolean(),
  /** For references: the entity pointed at. */
  references: CrmEntityName.optional(),
});
export type CrmField = z.infer<typeof CrmField>;

export const CrmEntityDescribe = z.object({
  name: CrmEntityName,
  label: z.string(),
  /** The CRM primary key field. */
  idField: z.string(),
  fields: z.array(CrmField),
});
export type CrmEntityDescribe = z.infer<typeof CrmEntityDescribe>;

export const CrmDescribe = z.object({ entities: z.array(CrmEntityDescribe) });
export type CrmDescribe = z.infer<typeof CrmDescribe>;

export type CrmValue = string | number | boolean | null;
export type CrmRecord = Record<string, CrmValue>;

export interface ChangeQuery {
  /** Lower bound (inclusive) on the change time when no cursor is given. */
  since?: Date;
  /** Opaque position returned by a previous call; takes precedence over `since`. */
  cursor?: string;
  /** Page size, at most 10,000. */
  limit?: number;
  /** Include the sync's own writes (default false: they would echo back to Marketo). */
  includeOwnWrites?: boolean;
  /**
   * Read every committed row as it is now (reconciliation, full scans) instead of a change stream:
   * not held back by other sessions' open transactions. The cursor it returns is a paging
   * position, not a stream position to resume from later.
   */
  snapshot?: boolean;
}

export type Change =
  | { kind: 'upsert'; id: string; changedAt: string; record: CrmRecord }
  | {
      kind: 'delete';
      id: string;
      changedAt: string;
      /** External keys the record had (e.g. `marketo_lead_id`), so the other side can find it. */
      keys: Record<string, string | null>;
      /** Set when the record was deleted by a merge: the surviving record. */
      mergedInto: string | null;
    };

export interface ChangePage {
  changes: Change[];
  /** Resume here. When `hasMore` is false it marks the safe end of the stream: store it as the watermark. */
  cursor: string;
  hasMore: boolean;
}

export type UpsertResult =
  | { index: number; status: 'created' | 'updated'; id: string }
  | { index: number; status: 'failed'; code: string; reason: string };

export interface UpsertOptions {
  /**
   * Field matched to find the existing record: the CRM primary key (records without it are
   * created) or a unique external key such as `marketo_lead_id`, which makes Marketo→CRM
   * writes idempotent.
   */
  keyField: string;
  /** Only update existing records; a record whose key matches nothing fails with NOT_FOUND. */
  updateOnly?: boolean;
}

export type DeleteResult = { id: string; status: 'deleted' } | { id: string; status: 'failed'; code: string; reason: string };

export interface MergeResult {
  winnerId: string;
  mergedIds: string[];
}

export interface ConvertLeadRequest {
  leadId: string;
  /** Existing account to attach the contact to; when absent an account is created from `newAccount`. */
  accountId?: string;
  newAccount?: CrmRecord;
  /** Convert into this existing contact (lead is merged into it) instead of creating one. */
  contactId?: string;
  ownerId?: string;
}

export interface ConvertLeadResult {
  leadId: string;
  contactId: string;
  accountId: string;
  createdContact: boolean;
  createdAccount: boolean;
  /** Converting into a contact that already had another Marketo person: that lead must be merged into the contact's in Marketo. */
  marketoLeadToMerge: string | null;
}

/** A field to create in the CRM because its Marketo counterpart was enabled for sync. */
export interface ProvisionFieldSpec {
  name: string;
  type: CrmFieldType;
  length?: number;
}

export interface ProvisionCustomObjectSpec {
  name: string;
  fields: ProvisionFieldSpec[];
  dedupeFields: string[];
  links?: ('lead' | 'contact' | 'account')[];
}

/**
 * Writes are made "as the sync": implementations must mark them so `readChanges` can leave them
 * out, otherwise every change the sync writes would come back as a CRM change in the next cycle.
 */
export interface CrmConnector {
  describe(): Promise<CrmDescribe>;
  /** Changes in a stable order (change time, then id); deletes appear as tombstones. */
  readChanges(entity: CrmEntityName, query: ChangeQuery): Promise<ChangePage>;
  /** Reads current records by id (e.g. to fetch a winner after a merge). */
  getRecords(entity: CrmEntityName, ids: readonly string[]): Promise<CrmRecord[]>;
  /** Set-based batch upsert; results in input order, one per record; never throws for a bad record. */
  upsert(entity: CrmEntityName, records: readonly CrmRecord[], options: UpsertOptions): Promise<UpsertResult[]>;
  delete(entity: CrmEntityName, ids: readonly string[]): Promise<DeleteResult[]>;
  /** Merges losers into the winner: empty winner fields take the losers' values, children move, losers are deleted. */
  merge(entity: 'lead' | 'contact' | 'account', winnerId: string, loserIds: readonly string[]): Promise<MergeResult>;
  convertLead(request: ConvertLeadRequest): Promise<ConvertLeadResult>;
  /** Optional: CRMs that can grow their schema create the column for a newly synced field. */
  provisionField?(entity: CrmEntityName, field: ProvisionFieldSpec): Promise<{ created: boolean }>;
  /** Optional: create the entity `custom:<name>` for a Marketo custom object enabled for sync. */
  provisionCustomObject?(spec: ProvisionCustomObjectSpec): Promise<{ created: boolean; entity: string }>;
  close(): Promise<void>;
}

export class CrmError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CrmError';
  }
}
