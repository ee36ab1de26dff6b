import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { MarketoError, success } from '../http/envelope.js';
import type { RawReply, Reply, RequestContext, Route } from '../http/route.js';
import { isoZ } from '../subscription.js';
import { exportJobView, type ExportKind, type ExportJob, QUEUE_FULL } from './export-jobs.js';
import { exportSpecFor, type ExportSpec } from './export-sources.js';
import type { ImportBatch, ImportQueue } from './import-jobs.js';
import type { ImportFormat, ImportSpec, ImportTarget } from './import-processor.js';
import { bulkService, type BulkService } from './service.js';

/**
 * /bulk/v1 over HTTP: export jobs of the four kinds, their files with Range/206, and lead,
 * custom-object and program-member imports with status, failures and warnings files.
 */

const iso = (ms: number) => isoZ(Math.floor(ms / 1000));
const ok = (ctx: RequestContext, result: unknown[]): Reply => ({ json: success(ctx.requestId, result) });
const NGINX_413 = '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

function plain(status: number, text: string): RawReply {
  return { raw: true, status, headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': Buffer.byteLength(text) }, body: text };
}

// ─────────────── exports ───────────────

const EXPORT_ROOTS: Record<ExportKind, string> = {
  leads: '/bulk/v1/leads/export',
  activities: '/bulk/v1/activities/export',
  programMembers: '/bulk/v1/program/members/export',
  customObjects: '/bulk/v1/customobjects/:apiName/export',
};

const objectOf = (kind: ExportKind, ctx: RequestContext) => (kind === 'customObjects' ? ctx.pathParams.apiName : undefined);
const view = (job: ExportJob<unknown>) => exportJobView(job, iso);

/** A file body that destroys the connection after `limit` bytes: the "broken download" fault. */
class BreakingBody extends PassThrough {
  private sent = 0;
  private target: Writable | undefined;

  constructor(private readonly limit: number) {
    super();
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.target = destination as unknown as Writable;
    return super.pipe(destination, options);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    const room = this.limit - this.sent;
    if (room <= 0) return done();
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.sent += part.length;
    this.push(part);
    if (this.sent >= this.limit) {
      // Let the bytes reach the socket, then cut it mid-body.
      setImmediate(() => (this.target as ServerResponse | undefined)?.socket?.destroy());
    }
    done();
  }

  override _flush(done: () => void): void {
    // Ending would finish the response short of its Content-Length on a live socket; the cut must come first.
    if (this.sent < this.limit) done();
  }
}

/**
 * The "checksum mismatch" fault: from byte `at` of the body on, the first ASCII letter is swapped
 * for another letter, so the CSV still parses but the file's sha256 differs from its fileChecksum.
 */
class CorruptingBody extends PassThrough {
  private seen = 0;
  private done = false;

  constructor(private readonly at: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null, data?: Buffer) => void): void {
    const startInChunk = Math.max(0, this.at - this.seen);
    this.seen += chunk.length;
    if (this.done || startInChunk >= chunk.length) return callback(null, chunk);
    const out = Buffer.from(chunk);
    for (let i = startInChunk; i < out.length; i++) {
      const c = out[i]!;
      const lower = c | 0x20;
      if (lower >= 0x61 && lower <= 0x7a) {
        out[i] = lower === 0x7a ? c - 1 : c + 1; // the next letter of the same case ('z' takes 'y')
        this.done = true;
        break;
      }
    }
    callback(null, out);
  }
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

function fileReply(service: BulkService, ctx: RequestContext, path: string, size: number, contentType: string): RawReply {
  const range = parseRange(typeof ctx.headers.range === 'string' ? ctx.headers.range : undefined, size);
  if (range === 'unsatisfiable') {
    return { raw: true, status: 416, headers: { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }, body: '' };
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Accept-Ranges': 'bytes', 'Content-Length': Math.max(0, end - start + 1) };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  if (size === 0) return { raw: true, status: 200, headers, body: '' };
  let body: NodeJS.ReadableStream = createReadStream(path, { start, end });
  const faults = service.faults;
  if (faults.corruptDownloads > 0) {
    faults.corruptDownloads -= 1;
    body = body.pipe(new CorruptingBody(Math.floor((start + end) / 2) - start));
  }
  if (faults.breakDownloadAfterBytes !== undefined && faults.breakDownloads > 0) {
    faults.breakDownloads -= 1;
    const breaking = new BreakingBody(faults.breakDownloadAfterBytes);
    body = body.pipe(breaking);
  }
  return { raw: true, status: range ? 206 : 200, headers, body: body as RawReply['body'] };
}

const CONTENT_TYPES = { CSV: 'text/csv;charset=UTF-8', TSV: 'text/tab-separated-values;charset=UTF-8', SSV: 'text/csv;charset=UTF-8' } as const;

function exportRoutes(kind: ExportKind): Route[] {
  const root = EXPORT_ROOTS[kind];
  const jobs = (ctx: RequestContext) => bulkService(ctx.subscription).exports;
  const features = (ctx: RequestContext) => {
    const o = bulkService(ctx.subscription).options.export;
    return { updatedAtFilter: o.updatedAtFilter, smartListFilters: o.smartListFilters };
  };
  return [
    {
      method: 'POST',
      path: `${root}/create.json`,
      handler: (ctx) => {
        const spec: ExportSpec = exportSpecFor(kind, ctx.subscription, ctx.body, features(ctx), objectOf(kind, ctx));
        return ok(ctx, [view(jobs(ctx).create(ctx.apiUser, kind, objectOf(kind, ctx), spec.format, spec))]);
      },
    },
    {
      method: 'POST',
      path: `${root}/:exportId/enqueue.json`,
      body: 'none',
      handler: (ctx) => {
        const service = bulkService(ctx.subscription);
        // Unknown ids fail first, as they would at Marketo.
        service.exports.status(ctx.apiUser, kind, objectOf(kind, ctx), ctx.pathParams.exportId ?? '');
        if (service.faults.queueFull > 0) {
          service.faults.queueFull -= 1;
          throw new MarketoError('1029', QUEUE_FULL);
        }
        return ok(ctx, [view(service.exports.enqueue(ctx.apiUser, kind, objectOf(kind, ctx), ctx.pathParams.exportId ?? ''))]);
      },
    },
    {
      method: 'GET',
      path: `${root}/:exportId/status.json`,
      handler: (ctx) => ok(ctx, [view(jobs(ctx).status(ctx.apiUser, kind, objectOf(kind, ctx), ctx.pathParams.exportId ?? ''))]),
    },
    {
      method: 'POST',
      path: `${root}/:exportId/cancel.json`,
      body: 'none',
      handler: (ctx) => ok(ctx, [view(jobs(ctx).cancel(ctx.apiUser, kind, objectOf(kind, ctx), ctx.pathParams.exportId ?? ''))]),
    },
    {
      method: 'GET',
      path: `${root}/:exportId/file.json`,
      handler: (ctx) => {
        const service = bulkService(ctx.subscription);
        const exportId = ctx.pathParams.exportId ?? '';
        const file = service.exports.file(ctx.apiUser, kind, objectOf(kind, ctx), exportId);
        if (!file) return plain(404, `Export file for ${exportId} is not available`);
        const job = service.exports.status(ctx.apiUser, kind, objectOf(kind, ctx), exportId);
        return fileReply(service, ctx, file.path, file.fileSize, CONTENT_TYPES[job.format]);
      },
    },
    {
      method: 'GET',
      path: `${root}.json`,
      handler: (ctx) => {
        const statuses = ctx.params.list('status');
        const batchSize = ctx.params.int('batchSize') ?? 300;
        if (batchSize < 1 || batchSize > 300) throw new MarketoError('1003', 'batchSize must be between 1 and 300');
        const token = ctx.params.string('nextPageToken');
        const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
        if (!Number.isInteger(offset) || offset < 0) throw new MarketoError('1003', 'Invalid nextPageToken');
        const all = jobs(ctx).list(ctx.apiUser, kind, objectOf(kind, ctx), statuses ? new Set(statuses.map((s) => s.toLowerCase().replace('canceled', 'cancelled'))) : undefined);
        const page = all.slice(offset, offset + batchSize).map(view);
        const next = offset + batchSize < all.length ? Buffer.from(String(offset + batchSize)).toString('base64url') : undefined;
        return { json: success(ctx.requestId, page, next ? { nextPageToken: next } : {}) };
      },
    },
  ];
}

// ─────────────── imports ───────────────

const FORMATS = new Set<ImportFormat>(['csv', 'tsv', 'ssv']);

/** Streams the multipart `file` part to disk (other parts become parameters); 413 above the limit. */
async function receiveUpload(ctx: RequestContext, service: BulkService): Promise<{ path: string } | RawReply> {
  const path = service.newPath('upload');
  const limit = service.options.import.maxFileBytes;
  let tooLarge = false;
  let sawFile = false;
  let writing: Promise<void> | undefined;
  const parsed = new Promise<void>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: ctx.headers, limits: { files: 1, fileSize: limit } });
    } catch {
      reject(new MarketoError('613', 'Invalid Multipart Request'));
      return;
    }
    bb.on('file', (name, stream) => {
      if (name !== 'file') {
        stream.resume();
        return;
      }
      sawFile = true;
      stream.on('limit', () => {
        tooLarge = true;
      });
      writing = pipeline(stream, createWriteStream(path));
    });
    bb.on('field', (name, value) => ctx.params.add(name, value));
    bb.on('close', () => resolve());
    bb.on('error', () => reject(new MarketoError('613', 'Invalid Multipart Request')));
    bb.end(ctx.rawBody);
  });
  await parsed;
  await writing;
  if (tooLarge) return { raw: true, status: 413, headers: { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(NGINX_413) }, body: NGINX_413 };
  if (!sawFile) throw new MarketoError('613', 'Invalid Multipart Request: no file part');
  return { path };
}

function importFormat(ctx: RequestContext): ImportFormat {
  const format = ctx.params.string('format')?.toLowerCase();
  if (format === undefined) throw new MarketoError('701', 'format cannot be blank');
  if (!FORMATS.has(format as ImportFormat)) throw new MarketoError('1003', `Invalid value for parameter 'format': ${format}`);
  return format as ImportFormat;
}

async function submitImport(ctx: RequestContext, queue: ImportQueue, objectName: string | undefined, target: (ctx: RequestContext) => ImportTarget): Promise<Reply | ImportBatch<ImportSpec>> {
  const service = bulkService(ctx.subscription);
  const upload = await receiveUpload(ctx, service);
  if ('raw' in upload) return upload;
  try {
    const format = importFormat(ctx);
    return service.imports.submit(ctx.apiUser, queue, objectName, { filePath: upload.path, format, target: target(ctx) });
  } catch (error) {
    rmSync(upload.path, { force: true });
    throw error;
  }
}

function leadTarget(ctx: RequestContext): ImportTarget {
  const lookupField = ctx.params.string('lookupField') ?? 'email';
  if (!ctx.subscription.searchableLeadFields().includes(lookupField)) throw new MarketoError('1011', `Lookup field '${lookupField}' not supported`);
  const listId = ctx.params.int('listId');
  if (listId !== undefined && !ctx.subscription.lists.has(listId)) throw new MarketoError('1013', `List ${listId} not found`);
  const partitionName = ctx.params.string('partitionName');
  if (partitionName !== undefined && !ctx.subscription.partitions.some((p) => p.name === partitionName)) {
    throw new MarketoError('1008', `Access denied to partition '${partitionName}'`);
  }
  return { kind: 'leads', lookupField, ...(listId !== undefined ? { listId } : {}), ...(partitionName ? { partitionName } : {}) };
}

function counters(batch: ImportBatch<unknown>): { processed: number; failed: number; warnings: number } {
  return { processed: batch.outcome?.processed ?? 0, failed: batch.outcome?.failed ?? 0, warnings: batch.outcome?.warnings ?? 0 };
}

function leadStatusView(batch: ImportBatch<unknown>): Record<string, unknown> {
  const c = counters(batch);
  const v: Record<string, unknown> = {
    batchId: batch.batchId,
    importId: String(batch.batchId),
    status: batch.status,
    numOfLeadsProcessed: c.processed,
    numOfRowsFailed: c.failed,
    numOfRowsWithWarning: c.warnings,
  };
  if (batch.message !== undefined) v.message = batch.message;
  return v;
}

function customObjectStatusView(batch: ImportBatch<unknown>): Record<string, unknown> {
  const c = counters(batch);
  const v: Record<string, unknown> = {
    batchId: batch.batchId,
    operation: 'import',
    status: batch.status,
    objectApiName: batch.objectName,
    numOfObjectsProcessed: c.processed,
    numOfRowsFailed: c.failed,
    numOfRowsWithWarning: c.warnings,
  };
  if (batch.startedAt !== undefined) v.importTime = `${Math.max(0, Math.round(((batch.finishedAt ?? batch.startedAt) - batch.startedAt) / 1000))} second(s)`;
  if (batch.message !== undefined) v.message = batch.message;
  return v;
}

function reasonFileRoutes(base: string, queue: ImportQueue, objectOfCtx: (ctx: RequestContext) => string | undefined): Route[] {
  return (['failures', 'warnings'] as const).map((which) => ({
    method: 'GET' as const,
    path: `${base}/${which}.json`,
    handler: (ctx: RequestContext): Reply => {
      const service = bulkService(ctx.subscription);
      const batchId = Number(ctx.pathParams.batchId);
      const batch = service.imports.status(ctx.apiUser, queue, objectOfCtx(ctx), batchId);
      const path = which === 'failures' ? batch.outcome?.failuresPath : batch.outcome?.warningsPath;
      if (!path) return plain(404, `No ${which} file for batch ${batchId}`);
      return fileReply(service, ctx, path, statSync(path).size, 'text/csv;charset=UTF-8');
    },
  }));
}

const IMPORT_BODY_BYTES = 10 * 1024 * 1024 + 64 * 1024;

function importRoutes(): Route[] {
  const batchIdOf = (ctx: RequestContext) => {
    const id = Number(ctx.pathParams.batchId);
    if (!Number.isInteger(id)) throw new MarketoError('1003', `Invalid batchId '${ctx.pathParams.batchId}'`);
    return id;
  };
  const coName = (ctx: RequestContext) => {
    const name = ctx.pathParams.apiName ?? '';
    const type = ctx.subscription.objectType(name);
    if (!type || type.kind !== 'custom') throw new MarketoError('1013', `Custom object ${name} not found`);
    return name;
  };
  return [
    {
      method: 'POST',
      path: '/bulk/v1/leads.json',
      body: 'multipart',
      maxBodyBytes: IMPORT_BODY_BYTES,
      handler: async (ctx) => {
        const out = await submitImport(ctx, 'leads', undefined, leadTarget);
        if ('batchId' in out) return ok(ctx, [{ batchId: out.batchId, importId: String(out.batchId), status: out.status }]);
        return out;
      },
    },
    {
      method: 'GET',
      path: '/bulk/v1/leads/batch/:batchId.json',
      handler: (ctx) => ok(ctx, [leadStatusView(bulkService(ctx.subscription).imports.status(ctx.apiUser, 'leads', undefined, batchIdOf(ctx)))]),
    },
    ...reasonFileRoutes('/bulk/v1/leads/batch/:batchId', 'leads', () => undefined),
    {
      method: 'POST',
      path: '/bulk/v1/customobjects/:apiName/import.json',
      body: 'multipart',
      maxBodyBytes: IMPORT_BODY_BYTES,
      handler: async (ctx) => {
        const name = coName(ctx);
        const out = await submitImport(ctx, 'customObjects', name, () => ({ kind: 'customObjects', apiName: name }));
        if ('batchId' in out) return ok(ctx, [{ batchId: out.batchId, status: out.status, objectApiName: name }]);
        return out;
      },
    },
    {
      method: 'GET',
      path: '/bulk/v1/customobjects/:apiName/import/:batchId/status.json',
      handler: (ctx) => ok(ctx, [customObjectStatusView(bulkService(ctx.subscription).imports.status(ctx.apiUser, 'customObjects', coName(ctx), batchIdOf(ctx)))]),
    },
    ...reasonFileRoutes('/bulk/v1/customobjects/:apiName/import/:batchId', 'customObjects', (ctx) => ctx.pathParams.apiName),
    {
      method: 'POST',
      path: '/bulk/v1/program/:programId/members/import.json',
      body: 'multipart',
      maxBodyBytes: IMPORT_BODY_BYTES,
      handler: async (ctx) => {
        const programId = Number(ctx.pathParams.programId);
        const program = ctx.subscription.programs.get(programId);
        if (!program) throw new MarketoError('1013', `Program ${ctx.pathParams.programId} not found`);
        const out = await submitImport(ctx, 'programMembers', undefined, (c) => {
          const status = c.params.string('programMemberStatus');
          if (status === undefined) throw new MarketoError('701', 'programMemberStatus cannot be blank');
          if (!program.statuses.includes(status)) throw new MarketoError('1025', 'Program status not found');
          return { kind: 'programMembers', programId, status };
        });
        if ('batchId' in out) return ok(ctx, [{ batchId: out.batchId, importId: String(out.batchId), status: out.status }]);
        return out;
      },
    },
    {
      method: 'GET',
      path: '/bulk/v1/program/members/import/:batchId/status.json',
      handler: (ctx) => ok(ctx, [leadStatusView(bulkService(ctx.subscription).imports.status(ctx.apiUser, 'programMembers', undefined, batchIdOf(ctx)))]),
    },
    ...reasonFileRoutes('/bulk/v1/program/members/import/:batchId', 'programMembers', () => undefined),
  ];
}

export const bulkRoutes: Route[] = [
  ...(['leads', 'activities', 'programMembers', 'customObjects'] as const).flatMap(exportRoutes),
  ...importRoutes(),
];
