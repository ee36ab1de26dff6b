import { refetchMalformedLeads, MAX_IDS_PER_CALL, type LeadRefetch as LibLeadRefetch, type MalformedRecord as LibMalformedRecord } from '../src/marketo/bulk/lead-refetch.js';
import type { RecordFailure } from '../src/store/error-ledger.js';

// The re-fetch is a library (src/marketo/bulk/lead-refetch.ts) the sync loop's pull uses too;
// the bootstrap's ingest reports malformed lines as ledger entries.
export { refetchMalformedLeads, MAX_IDS_PER_CALL };
export type MalformedRecord = LibMalformedRecord<RecordFailure>;
export type LeadRefetch = LibLeadRefetch<RecordFailure>;
