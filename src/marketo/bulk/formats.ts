import { z } from 'zod';

/** Bulk file formats. Extract jobs spell them upper case, import calls lower case. */
export const exportFormatSchema = z.enum(['CSV', 'TSV', 'SSV']);
export type ExportFormat = z.infer<typeof exportFormatSchema>;
export const importFormatSchema = z.enum(['csv', 'tsv', 'ssv']);
export type ImportFormat = z.infer<typeof importFormatSchema>;

/**
 * Marketo's docs disagree on SSV (import pages: semicolon; extract pages: space). Semicolon is the
 * reading most integrations use, and a space delimiter would split every unquoted value that
 * contains one, so both sides of this project use ';'.
 */
const DELIMITERS: Record<ExportFormat, string> = { CSV: ',', TSV: '\t', SSV: ';' };

export function delimiterOf(format: ExportFormat | ImportFormat): string {
  return DELIMITERS[format.toUpperCase() as ExportFormat];
}

/** Marketo writes an empty value as the bare word `null`; a quoted "null" is the text itself. */
export const NULL_LITERAL = 'null';
