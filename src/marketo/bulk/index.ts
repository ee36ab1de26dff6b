/** Public API of the bulk extract and import client (docs/bulk.md). */
export { planWindows, validateWindow, MARKETO_EPOCH, MAX_WINDOW_DAYS, type DateWindow } from './windows.js';
export { exportFormatSchema, importFormatSchema, type ExportFormat, type ImportFormat } from './formats.js';
export { exportKindSchema, activityRowSchema, recordRowSchema, type ExportKind, type ActivityRow, type RecordRow, type RowByKind } from './rows.js';
export { exportRequestSchemaByKind, type ExportRequestByKind, type LeadExportRequest, type ActivityExportRequest } from './export-requests.js';
export { exportJobSchema, TERMINAL_EXPORT_STATUSES, type ExportJob, type ExportStatus } from './export-job.js';
export { createExportParser, type ParsedRow, type MalformedRow, type ExportParser } from './parser.js';
export {
  downloadExport,
  downloadPositionSchema,
  isBrokenConnection,
  ChecksumMismatchError,
  type DownloadPosition,
  type DownloadOptions,
  type DownloadSummary,
  type OpenFileRange,
} from './download.js';
export {
  BulkExtractApi,
  ExportNotCompletedError,
  isAlreadyQueued,
  isQueueFull,
  type ExportTarget,
  type ExportRunSummary,
  type RunExportOptions,
  type WaitOptions,
} from './extract.js';
export { writeImportFiles, IMPORT_FILE_LIMIT_BYTES, DEFAULT_IMPORT_FILE_BYTES, type ImportFile, type ImportRecord, type ImportCell } from './import-files.js';
export { mapReasonFile, allRowsFailed, type ImportRowResult } from './import-results.js';
export { BulkImportApi, isImportQueueFull, type ImportTarget, type ImportBatchStatus, type ImportRunOptions, type ImportRunSummary } from './import.js';
