import { ImportJobs, importMessage, TOO_MANY_IMPORTS, type ImportOutcome } from '../../emulator/bulk/import-jobs.js';

describe('ImportJobs state machine', () => {
  function harness(limits = {}) {
    let now = 1_700_000_000_000;
    const pending = new Map<number, { resolve: (o: ImportOutcome) => void; reject: (e: Error) => void }>();
    const jobs = new ImportJobs<string>({
      now: () => now,
      limits,
      processor: (batch) => new Promise((resolve, reject) => pending.set(batch.batchId, { resolve, reject })),
    });
    const turn = () => new Promise((r) => setImmediate(r));
    return { jobs, pending, turn, advance: (ms: number) => (now += ms) };
  }

  it('goes Queued → Importing → Complete with counters and Marketo messages', async () => {
    const { jobs, pending, turn } = harness();
    const batch = jobs.submit('me', 'leads', undefined, 'file-a');
    expect(batch.status).toBe('Queued');
    await turn();
    expect(batch.status).toBe('Importing');
    pending.get(batch.batchId)!.resolve({ processed: 2, failed: 1, warnings: 0, failuresPath: '/tmp/f' });
    await turn();
    expect(jobs.status('me', 'leads', undefined, batch.batchId)).toMatchObject({ status: 'Complete', message: 'Import completed with errors, 2 records imported (2 members), 1 failed' });
    expect(importMessage({ processed: 3, failed: 0, warnings: 0 })).toBe('Import succeeded, 3 records imported (3 members)');
    expect(importMessage({ processed: 1, failed: 0, warnings: 1 })).toBe('Import succeeded, 1 records imported (1 members), 1 warning.');
  });

  it('imports 2 at a time per queue and refuses the 11th with 1016; queues are separate', async () => {
    const { jobs, turn } = harness();
    const batches = Array.from({ length: 10 }, (_, i) => jobs.submit('me', 'leads', undefined, `f${i}`));
    await turn();
    expect(batches.filter((b) => b.status === 'Importing')).toHaveLength(2);
    expect(() => jobs.submit('me', 'leads', undefined, 'f10')).toThrow(TOO_MANY_IMPORTS);
    expect(jobs.submit('me', 'customObjects', 'car_c', 'co').status).toBe('Queued');
  });

  it('fails a batch whose processor rejects, and hides batches from other owners', async () => {
    const { jobs, pending, turn } = harness();
    const batch = jobs.submit('me', 'leads', undefined, 'f');
    await turn();
    pending.get(batch.batchId)!.reject(new Error('Import failed: bad file'));
    await turn();
    expect(jobs.status('me', 'leads', undefined, batch.batchId)).toMatchObject({ status: 'Failed', message: 'Import failed: bad file' });
    expect(() => jobs.status('you', 'leads', undefined, batch.batchId)).toThrow(/not found/);
  });

  it('forgets batches after 7 days', async () => {
    const { jobs, pending, turn, advance } = harness();
    const batch = jobs.submit('me', 'leads', undefined, 'f');
    await turn();
    pending.get(batch.batchId)!.resolve({ processed: 1, failed: 0, warnings: 0 });
    await turn();
    advance(7 * 86_400_000 + 1);
    expect(() => jobs.status('me', 'leads', undefined, batch.batchId)).toThrow(/not found/);
  });
});
