import { ApplicationFailure } from '@temporalio/common';
import type { RecordRow } from '../../src/marketo/bulk/rows.js';
import { campaignMemberRecord, memberIds, PROGRAM_MEMBER_EXPORT_FIELDS } from '../../src/marketing/campaign-record.js';
import { MarketingRecordError } from '../../src/marketing/cells.js';
import type { ExportSource, ExportWindow } from '../../workflows/bootstrap-types.js';
import type { IngestBatchContext, IngestBatchOutcome, IngestSinkDeps, IngestSinkImpl } from '../ingest-sink.js';
import { buildAll, parentLinks, personLinks, upsertAndLedger } from '../marketing-writes.js';
import { MARKETING_PROGRAM_MEMBERS_SINK, PROGRAMS_PER_MEMBER_EXPORT } from '../../src/marketing/sink-names.js';

export { MARKETING_PROGRAM_MEMBERS_SINK };

function ids(row: RecordRow): { programId: number; leadId: number } | undefined {
  try {
    return memberIds(row);
  } catch (err) {
    if (err instanceof MarketingRecordError) return undefined;
    throw err;
  }
}

/**
 * Bulk program member export rows → CRM `campaignMember` records (campaign_members, keyed on
 * `<programId>:<leadId>`), pointing at the program's campaign (id map entity 'program', written
 * by the programs step before any membership export) and at the lead's CRM person.
 */
export function marketingProgramMembersSink(deps: IngestSinkDeps): IngestSinkImpl<'programMembers'> {
  return {
    rowKind: 'programMembers',
    exportRequest(source: ExportSource, _window: ExportWindow): Promise<Record<string, unknown>> {
      if (source.kind !== 'programMembers') throw ApplicationFailure.nonRetryable(`sink ${MARKETING_PROGRAM_MEMBERS_SINK} takes program member exports, not ${source.kind}`);
      if (source.programIds.length < 1 || source.programIds.length > PROGRAMS_PER_MEMBER_EXPORT) throw ApplicationFailure.nonRetryable(`a program member export takes 1 to ${PROGRAMS_PER_MEMBER_EXPORT} programs, not ${source.programIds.length}`);
      // Membership is current state, not history: no date filter, so the window only names the
      // job. `programIds` (even for one program) makes Marketo add the programId column.
      return Promise.resolve({ format: 'CSV', fields: [...PROGRAM_MEMBER_EXPORT_FIELDS], filter: { programIds: source.programIds } });
    },
    async write(rows: RecordRow[], _ctx: IngestBatchContext): Promise<IngestBatchOutcome> {
      const parsed = rows.map(ids);
      const campaigns = await parentLinks(deps.store, 'program', parsed.flatMap((p) => (p ? [p.programId] : [])));
      const people = await personLinks(deps.store, parsed.flatMap((p) => (p ? [p.leadId] : [])));
      const { built, refused } = buildAll(
        rows,
        'campaignMember',
        (row) => {
          const p = ids(row);
          return p ? `${p.programId}:${p.leadId}` : `${row.programId ?? '?'}:${row.leadId ?? '?'}`;
        },
        (row) => {
          const p = memberIds(row);
          const campaignId = campaigns.get(p.programId);
          if (campaignId === undefined) throw new MarketingRecordError('programId', `program ${p.programId} has no CRM campaign (its program record was not written)`);
          return campaignMemberRecord(row, { campaignId, person: people.get(p.leadId) });
        },
      );
      const out = await upsertAndLedger(deps, 'campaignMember', 'marketo_key', built, refused);
      return { written: out.written, failed: out.failed };
    },
  };
}
