import { describeConflicts, describeSyncStatus } from '../../client/commands/sync.js';
import type { SyncStatus } from '../../workflows/sync-types.js';

// What `sync status` and `sync conflicts` print, from plain data (no Temporal, no database).
const status: SyncStatus = {
  state: 'sleeping',
  cycles: 3,
  intervalSeconds: 300,
  effectiveIntervalSeconds: 300,
  watermarks: {},
  schema: { mappingWarnings: [], mappingErrors: [] },
  unavailableSteps: [],
  run: 1,
  lastCycle: {
    number: 3,
    historyId: '42',
    startedAt: '2026-11-28T10:00:00.000Z',
    finishedAt: '2026-11-28T10:00:02.000Z',
    durationMs: 2_000,
    outcome: 'succeeded',
    apiCalls: 36,
    schemaRefreshed: false,
    conflicts: 2,
    steps: [{ seed: 4, step: 'pullLeadsAndCompanies', runs: 1, read: 5, written: 4, skipped: 0, calls: 36, conflicts: 2, companiesScanned: 9_000 }],
  },
};

test('status text: the last cycle\'s conflicts with the command that lists them, and the company scan', () => {
  const text = describeSyncStatus(status);
  expect(text).toContain('conflicts settled: 2 (marketo-sync sync conflicts --cycle 42)');
  expect(text).toMatch(/pullLeadsAndCompanies\s+read 5 {2}written 4 {2}ledgered 0 {2}calls 36 {2}conflicts 2 {2}companies scanned 9000/);
  const quiet = describeSyncStatus({ ...status, lastCycle: { ...status.lastCycle!, conflicts: undefined, steps: [] } } as SyncStatus);
  expect(quiet).not.toContain('conflicts');
});

test('conflicts text: a table without values, or a plain sentence when there are none', () => {
  const at = new Date('2026-11-28T10:00:01.000Z');
  const text = describeConflicts([{ cycleId: '42', at, entity: 'lead', recordKey: '1001', field: 'title', rule: 'crm', winner: 'crm' }]);
  expect(text.split('\n')).toEqual([expect.stringMatching(/^CYCLE\s+AT\s+ENTITY\s+RECORD\s+FIELD\s+RULE\s+WINNER$/), expect.stringMatching(/^\s*42\s+2026-11-28T10:00:01.000Z\s+lead\s+1001\s+title\s+crm\s+crm$/)]);
  expect(describeConflicts([])).toBe('no conflicts recorded');
});
