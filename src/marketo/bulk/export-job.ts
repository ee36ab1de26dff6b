import { z } from 'zod';
import { exportFormatSchema } from './formats.js';

/**
 * Marketo's spelling varies (`Cancelled` on the wire, `Canceled` in the spec); both read as `Cancelled`.
 */
export const exportStatusSchema = z
  .enum(['Created', 'Queued', 'Processing', 'Completed', 'Failed', 'Cancelled', 'Canceled'])
  .transform((s) => (s === 'Canceled' ? 'Cancelled' : s));
export type ExportStatus = z.output<typeof exportStatusSchema>;

/** The export job object: fields appear only once set, so all but id and status are optional. */
export const exportJobSchema = z.looseObject({
  exportId: z.string().min(1),
  status: exportStatusSchema,
  format: exportFormatSchema.optional(),
  createdAt: z.string().optional(),
  queuedAt: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  numberOfRecords: z.number().int().nonnegative().optional(),
  fileSize: z.number().int().nonnegative().optional(),
  fileChecksum: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>').optional(),
  errorMsg: z.string().optional(),
});
export type ExportJob = z.output<typeof exportJobSchema>;

export const TERMINAL_EXPORT_STATUSES: ReadonlySet<ExportStatus> = new Set(['Completed', 'Failed', 'Cancelled']);
