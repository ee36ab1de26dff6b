import { parse, stringify } from 'yaml';
import { z } from 'zod';
import type { CrmDescribe } from '../crm/connector.js';
import { MappingConfig, formatIssues } from './mapping-config.js';
import type { MarketoSchemas } from './marketo-schema.js';
import { validateMapping } from './validate.js';

export class MappingRejectedError extends Error {
  constructor(readonly problems: string[]) {
    super(`mapping rejected:\n  - ${problems.join('\n  - ')}`);
    this.name = 'MappingRejectedError';
  }
}

const HEADER = `# marketo-crm-sync field mapping. Edit, then import: every field is checked against the
# current Describe results of Marketo and the CRM before anything is saved.
# direction: both | toCrm | toMarketo
`;

export function exportMappingYaml(config: MappingConfig): string {
  return HEADER + stringify(MappingConfig.parse(config), { lineWidth: 0 });
}

/** Parses and shape-checks a mapping file; problems name the path, and the entity when there is one. */
export function parseMappingYaml(text: string): MappingConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new MappingRejectedError([`not valid YAML: ${(err as Error).message}`]);
  }
  const result = MappingConfig.safeParse(raw);
  if (!result.success) throw new MappingRejectedError(describeIssues(result.error, raw));
  return result.data;
}

function describeIssues(error: z.ZodError, raw: unknown): string[] {
  const entities = (raw as { entities?: { marketo?: unknown; crm?: unknown }[] } | null)?.entities;
  return formatIssues(error).map((line, i) => {
    const path = error.issues[i]!.path;
    if (path[0] === 'entities' && typeof path[1] === 'number' && Array.isArray(entities)) {
      const e = entities[path[1]];
      if (e) return `${String(e.marketo)} ⇄ ${String(e.crm)}: ${line}`;
    }
    return line;
  });
}

export interface MappingSink {
  save(config: MappingConfig, meta: { author?: string; comment?: string; warnings?: readonly string[] }): Promise<number>;
}

/**
 * Imports a mapping file: parse, shape-check, validate against the schemas, and only then save a
 * new version. Any problem throws MappingRejectedError listing all of them; nothing is written.
 */
export async function importMappingYaml(
  text: string,
  context: { schemas: MarketoSchemas; crm: CrmDescribe; sink: MappingSink; author?: string; comment?: string },
): Promise<{ version: number; warnings: string[] }> {
  const config = parseMappingYaml(text);
  const report = validateMapping(config, context.schemas, context.crm);
  if (report.errors.length > 0) throw new MappingRejectedError(report.errors);
  const version = await context.sink.save(config, { author: context.author, comment: context.comment, warnings: report.warnings });
  return { version, warnings: report.warnings };
}
