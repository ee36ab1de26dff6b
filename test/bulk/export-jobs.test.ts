import { ExportJobs, exportJobView, QUEUE_FULL, ALREADY_QUEUED, type ExportJob, type ProducedFile } from '../../emulator/bulk/export-jobs.js';

interface Deferred {
  resolve: (f: ProducedFile) => void;
  reject: (e: Error) => void;
  signal: AbortSignal;
}

function harness(limits: Partial<ConstructorParameters<typeof ExportJobs>[0]['limits']> = {}) {
  let now = Date.parse('2024-03-01T12:00:00Z');
  const started = new Map<string, Deferred>();
  const discarded: string[] = [];
  let n = 0;
  const jobs = new ExportJobs<{ n: number }>({
    now: () => now,
    limits,
    newId: () => `job-${++n}`,
    discardFile: (p) => discarded.push(p),
    processor: (job, signal) =>
      new Promise<ProducedFile>((resolve, reject) => {
        started.set(job.exportId, { resolve, reject, signal });
      }),
  });
  const file = (id: string, size = 100): ProducedFile => ({ path: `/tmp/${id}`, numberOfRecords: 3, fileSize: size, sha256: 'ab'.repeat(32) });
  const settle = () => new Promise((r) => setImmediate(r));
  return { jobs, started, discarded, file, settle, advance: (ms: number) => (now += ms), at: () => now };
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return `${(e as { code: string }).code} ${(e as Error).message}`;
  }
  return 'no error';
};

describe('ExportJobs state machine', () => {
  it('walks Created → Queued → Processing → Completed with fields appearing as they are set', async () => {
    const { jobs, started, file, settle, advance } = harness();
    const job = jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';
    expect(exportJobView(job, iso)).toEqual({ exportId: 'job-1', format: 'CSV', status: 'Created', createdAt: '2024-03-01T12:00:00Z' });
    advance(1000);
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    // Started at once: a free processing slot.
    expect(job.status).toBe('Processing');
    expect(Object.keys(exportJobView(job, iso))).toEqual(['exportId', 'format', 'status', 'createdAt', 'queuedAt', 'startedAt']);
    advance(5000);
    started.get('job-1')!.resolve(file('job-1', 1234));
    await settle();
    const view = exportJobView(jobs.status('me', 'leads', undefined, 'job-1'), iso);
    expect(view).toMatchObject({ status: 'Completed', finishedAt: '2024-03-01T12:00:06Z', numberOfRecords: 3, fileSize: 1234, fileChecksum: `sha256:${'ab'.repeat(32)}` });
    expect(jobs.file('me', 'leads', undefined, 'job-1')?.path).toBe('/tmp/job-1');
  });

  it('processes 2 at a time and queues 10 in all, across export kinds', async () => {
    const { jobs, started, file, settle } = harness();
    const kinds = ['leads', 'activities', 'programMembers', 'customObjects'] as const;
    const all: ExportJob<{ n: number }>[] = [];
    for (let i = 0; i < 11; i++) {
      const kind = kinds[i % 4]!;
      all.push(jobs.create('me', kind, kind === 'customObjects' ? 'car_c' : undefined, 'CSV', { n: i }));
    }
    for (const j of all.slice(0, 10)) jobs.enqueue('me', j.kind, j.objectName, j.exportId);
    expect(all.map((j) => j.status).slice(0, 10)).toEqual(['Processing', 'Processing', ...Array(8).fill('Queued')]);
    const last = all[10]!;
    expect(code(() => jobs.enqueue('me', last.kind, last.objectName, last.exportId))).toBe(`1029 ${QUEUE_FULL}`);
    // Finishing one frees a processing slot (FIFO) and a queue slot.
    started.get('job-1')!.resolve(file('job-1'));
    await settle();
    expect(all[2]!.status).toBe('Processing');
    expect(jobs.enqueue('me', last.kind, last.objectName, last.exportId).status).toBe('Queued');
  });

  it('answers 1029 Job already queued to a second enqueue', () => {
    const { jobs } = harness();
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    expect(code(() => jobs.enqueue('me', 'leads', undefined, 'job-1'))).toBe(`1029 ${ALREADY_QUEUED}`);
  });

  it('enforces the daily byte quota on create and enqueue until the Chicago day turns', async () => {
    const { jobs, started, file, settle, advance } = harness({ dailyQuotaBytes: 1000 });
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    jobs.create('me', 'leads', undefined, 'CSV', { n: 2 });
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    started.get('job-1')!.resolve(file('job-1', 1000));
    await settle();
    expect(jobs.bytesToday()).toBe(1000);
    expect(code(() => jobs.create('me', 'leads', undefined, 'CSV', { n: 3 }))).toMatch(/^1029 Export daily quota .*MB exceeded\.$/);
    expect(code(() => jobs.enqueue('me', 'leads', undefined, 'job-2'))).toMatch(/^1029 Export daily quota/);
    // 12:00 UTC is 06:00 in Chicago (CST): 18 h later it is past Chicago midnight.
    advance(17 * 3_600_000);
    expect(code(() => jobs.enqueue('me', 'leads', undefined, 'job-2'))).toMatch(/^1029 Export daily quota/);
    advance(1 * 3_600_000 + 1000);
    expect(jobs.enqueue('me', 'leads', undefined, 'job-2').status).toBe('Processing');
  });

  it('shows a job to its owner only, and only under its own kind', () => {
    const { jobs } = harness();
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    expect(code(() => jobs.status('someone-else', 'leads', undefined, 'job-1'))).toBe('1003 Export Id job-1 not found');
    expect(code(() => jobs.status('me', 'activities', undefined, 'job-1'))).toBe('1003 Export Id job-1 not found');
    expect(jobs.list('someone-else', 'leads', undefined)).toEqual([]);
    expect(jobs.list('me', 'leads', undefined).map((j) => j.exportId)).toEqual(['job-1']);
  });

  it('cancels queued and processing jobs, aborting the processor and freeing the slot', async () => {
    const { jobs, started, file, settle, discarded } = harness({ maxProcessing: 1 });
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    jobs.create('me', 'leads', undefined, 'CSV', { n: 2 });
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    jobs.enqueue('me', 'leads', undefined, 'job-2');
    expect(jobs.cancel('me', 'leads', undefined, 'job-1').status).toBe('Cancelled');
    expect(started.get('job-1')!.signal.aborted).toBe(true);
    started.get('job-1')!.resolve(file('job-1')); // a processor that finished anyway: its file is dropped
    await settle();
    expect(discarded).toEqual(['/tmp/job-1']);
    expect(jobs.status('me', 'leads', undefined, 'job-2').status).toBe('Processing');
    expect(jobs.file('me', 'leads', undefined, 'job-1')).toBeUndefined();
  });

  it('fails a job whose processor rejects, and injected failures', async () => {
    const { jobs, started, settle } = harness();
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    started.get('job-1')!.reject(new Error('disk full'));
    await settle();
    expect(jobs.status('me', 'leads', undefined, 'job-1')).toMatchObject({ status: 'Failed', errorMsg: 'disk full' });
    jobs.failNext = 1;
    jobs.create('me', 'leads', undefined, 'CSV', { n: 2 });
    jobs.enqueue('me', 'leads', undefined, 'job-2');
    await settle();
    expect(jobs.status('me', 'leads', undefined, 'job-2').status).toBe('Failed');
  });

  it('keeps files 7 days and job records 30 days', async () => {
    const { jobs, started, file, settle, advance, discarded } = harness();
    jobs.create('me', 'leads', undefined, 'CSV', { n: 1 });
    jobs.enqueue('me', 'leads', undefined, 'job-1');
    started.get('job-1')!.resolve(file('job-1'));
    await settle();
    advance(7 * 86_400_000);
    expect(jobs.file('me', 'leads', undefined, 'job-1')).toBeDefined();
    advance(1000);
    expect(jobs.file('me', 'leads', undefined, 'job-1')).toBeUndefined();
    expect(discarded).toEqual(['/tmp/job-1']);
    expect(jobs.status('me', 'leads', undefined, 'job-1').status).toBe('Completed');
    advance(23 * 86_400_000);
    expect(code(() => jobs.status('me', 'leads', undefined, 'job-1'))).toMatch(/^1003/);
  });
});
