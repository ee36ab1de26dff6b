import { z } from 'zod';

const MB = 1024 * 1024;

/**
 * Bulk settings of one emulator. They belong under `bulk` in the emulator's options; until that
 * key exists they are given with `configureBulk(subscription, options)`.
 */
export const BulkOptions = z
  .object({
    export: z
      .object({
        /** Processing pace; 0 = unthrottled. The job stays Processing while its file is written at this rate. */
        rowsPerSecond: z.number().min(0).default(50_000),
        bytesPerSecond: z.number().min(0).default(0),
        maxProcessing: z.number().int().positive().default(2),
        /** Queued + processing, all four export kinds together. */
        maxQueued: z.number().int().positive().default(10),
        dailyQuotaBytes: z.number().int().positive().default(500 * MB),
        fileRetentionDays: z.number().positive().default(7),
        /** Subscriptions without these filters answer 1035. */
        updatedAtFilter: z.boolean().default(true),
        smartListFilters: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    import: z
      .object({
        rowsPerSecond: z.number().min(0).default(20_000),
        maxImporting: z.number().int().positive().default(2),
        maxQueued: z.number().int().positive().default(10),
        /** Uploads larger than this are answered HTTP 413. */
        maxFileBytes: z.number().int().positive().default(10 * MB),
      })
      .strict()
      .prefault({}),
    faults: z
      .object({
        /** Destroy the connection of the next `breakDownloads` file downloads after this many body bytes. */
        breakDownloadAfterBytes: z.number().int().nonnegative().optional(),
        breakDownloads: z.number().int().nonnegative().default(1),
        /** The next N export jobs to start processing end Failed. */
        failExports: z.number().int().nonnegative().default(0),
        /** The next N import batches to start end Failed. */
        failImports: z.number().int().nonnegative().default(0),
        /** The next N enqueue calls are answered 1029 "Too many jobs in queue". */
        queueFull: z.number().int().nonnegative().default(0),
        /** The next N file downloads change one letter half way through: the sha256 no longer matches. */
        corruptDownloads: z.number().int().nonnegative().default(0),
        /** The next N export files get one short row (2 columns) after their first data row. */
        malformedRows: z.number().int().nonnegative().default(0),
        /** The next N export files get one byte of their first data row replaced by 0xFF (not UTF-8); size and checksum describe the damaged file. */
        invalidUtf8Rows: z.number().int().nonnegative().default(0),
        /**
         * Data rows of each file `invalidUtf8Rows` damages (default 1: the first data row), spread
         * evenly over the file (rows 1, 1 + n/k, 1 + 2n/k, …) so they fall in different batches.
         */
        invalidUtf8RowsPerFile: z.number().int().positive().default(1),
        /** Only files of this export kind are damaged by `invalidUtf8Rows` (default: whichever file comes next). */
        invalidUtf8Kind: z.enum(['leads', 'activities', 'programMembers', 'customObjects']).optional(),
      })
      .strict()
      .prefault({}),
    /** Where export, upload and failure files go; default a fresh folder under the OS temp dir. */
    tempDir: z.string().optional(),
  })
  .strict();
export type BulkOptions = z.input<typeof BulkOptions>;
export type ResolvedBulkOptions = z.output<typeof BulkOptions>;
