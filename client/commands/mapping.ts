import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import type { MappingConfig } from '../../src/mapping/mapping-config.js';
import { CliError, ExitCode, UsageError } from '../output/exit-codes.js';
import { parseOptions } from '../output/options.js';
import { printResult, table } from '../output/print.js';
import type { ToolRuntime } from '../runtime/tools.js';

const jsonFlag = z.boolean().default(false);

/** The mapping library (YAML, suggest, validate, Describe reads), loaded when a command runs, not for `--help`. */
async function mappingLib() {
  const [file, suggest, validate, describes] = await Promise.all([
    import('../../src/mapping/mapping-file.js'),
    import('../../src/mapping/suggest.js'),
    import('../../src/mapping/validate.js'),
    import('../runtime/describes.js'),
  ]);
  return { ...file, ...suggest, ...validate, ...describes };
}

function readMappingFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function writeOrPrint(out: string | undefined, text: string): void {
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
}

async function withTools<T>(work: (tools: ToolRuntime) => Promise<T>): Promise<T> {
  // Loaded when a command runs, so `marketo-sync` starts without the database and HTTP modules.
  const { openTools } = await import('../runtime/tools.js');
  const tools = await openTools();
  try {
    return await work(tools);
  } finally {
    await tools.close();
  }
}

/** A refused mapping: exit code `rejected`, every problem listed (and in --json as `details.problems`). */
function rejected(problems: string[]): CliError {
  return new CliError(`mapping rejected:\n  - ${problems.join('\n  - ')}`, ExitCode.rejected, { problems });
}

function countFields(config: MappingConfig): number {
  return config.entities.reduce((n, e) => n + e.fields.filter((f) => f.enabled).length, 0);
}

const suggestOptions = z.object({
  out: z.string().min(1).optional(),
  leadKeyField: z.string().min(1).optional(),
  customObject: z
    .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*=custom:[a-z][a-z0-9_]*$/, 'expected <marketoApiName>=custom:<crmName>, e.g. car_c=custom:car'))
    .default([]),
  json: jsonFlag,
});

const showOptions = z.object({
  version: z.coerce.number().int().positive().optional(),
  out: z.string().min(1).optional(),
  json: jsonFlag,
});

const applyOptions = z.object({
  author: z.string().min(1).optional(),
  comment: z.string().min(1).optional(),
  json: jsonFlag,
});

/**
 * `marketo-sync mapping suggest|show|validate|apply|history`: the field mapping as a YAML file the
 * operator edits (src/mapping/mapping-file.ts). validate and apply check the file against the
 * current Describe results of Marketo and the CRM; apply saves a new version only when there is no
 * error, so a typo is refused naming the entity and the field and nothing is stored.
 */
export function registerMappingCommand(program: Command): void {
  const mapping = program.command('mapping').description('field mapping between Marketo and the CRM: suggest, show, validate, apply (YAML)');

  mapping
    .command('suggest')
    .description('print a starting mapping built from both Describe results (YAML)')
    .option('--out <file>', 'write the YAML to a file instead of stdout')
    .option('--lead-key-field <name>', 'Marketo lead field that holds the CRM id (default: crmId, externalPersonId or crmLeadId)')
    .option('--custom-object <pair>', 'map a Marketo custom object to a CRM entity, e.g. car_c=custom:car (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'print the mapping as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(suggestOptions, raw);
      const customObjects = Object.fromEntries(opts.customObject.map((p) => p.split('=') as [string, string]));
      const { suggestMapping, readCurrentSchemas, exportMappingYaml } = await mappingLib();
      const config = await withTools(async ({ marketo, crm }) => suggestMapping(await readCurrentSchemas(marketo), await crm.describe(), { leadKeyField: opts.leadKeyField, customObjects }));
      if (opts.json) printResult(opts, config, () => '');
      else writeOrPrint(opts.out, exportMappingYaml(config));
      if (opts.out) console.error(`suggested mapping (${config.entities.length} entities, ${countFields(config)} fields) written to ${opts.out}`);
    });

  mapping
    .command('show')
    .description('print the saved mapping (the newest version, or --version N) as YAML')
    .option('--version <n>', 'a specific saved version')
    .option('--out <file>', 'write the YAML to a file instead of stdout')
    .option('--json', 'print the version, its metadata and the mapping as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(showOptions, raw);
      const { exportMappingYaml } = await mappingLib();
      const stored = await withTools(({ store }) => store.mappings.get(opts.version));
      if (!stored) {
        throw new CliError(
          opts.version ? `no mapping version ${opts.version}` : "no mapping saved yet: the sync uses the suggested one ('marketo-sync mapping suggest' prints it)",
          ExitCode.failure,
        );
      }
      if (opts.json) printResult(opts, stored, () => '');
      else writeOrPrint(opts.out, `# version ${stored.version}, saved ${stored.createdAt.toISOString()}${stored.author ? ` by ${stored.author}` : ''}\n${exportMappingYaml(stored.config)}`);
    });

  mapping
    .command('validate')
    .description('check a mapping file against the current Describe results of Marketo and the CRM (saves nothing)')
    .argument('<file>', 'mapping YAML')
    .option('--json', 'print { valid, errors, warnings } as JSON')
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(z.object({ json: jsonFlag }), raw);
      const text = readMappingFile(file);
      const { parseMappingYaml, MappingRejectedError, validateMapping, readCurrentSchemas } = await mappingLib();
      let config: MappingConfig;
      try {
        config = parseMappingYaml(text);
      } catch (err) {
        if (err instanceof MappingRejectedError) throw rejected(err.problems);
        throw err;
      }
      const report = await withTools(async ({ marketo, crm }) => validateMapping(config, await readCurrentSchemas(marketo), await crm.describe()));
      if (report.errors.length > 0) throw new CliError(`mapping rejected:\n  - ${report.errors.join('\n  - ')}`, ExitCode.rejected, report);
      printResult(opts, { valid: true, ...report }, (r) =>
        [`${file}: valid (${config.entities.length} entities, ${countFields(config)} fields)`, ...r.warnings.map((w) => `warning: ${w}`)].join('\n'),
      );
    });

  mapping
    .command('apply')
    .description('validate a mapping file and save it as the new current version (nothing is saved if anything is wrong)')
    .argument('<file>', 'mapping YAML')
    .option('--author <name>', 'who made the change (kept with the version)')
    .option('--comment <text>', 'why (kept with the version)')
    .option('--json', 'print { version, warnings } as JSON')
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(applyOptions, raw);
      const text = readMappingFile(file);
      const { importMappingYaml, MappingRejectedError, readCurrentSchemas } = await mappingLib();
      const result = await withTools(async ({ marketo, crm, store }) => {
        try {
          return await importMappingYaml(text, { schemas: await readCurrentSchemas(marketo), crm: await crm.describe(), sink: store.mappings, author: opts.author, comment: opts.comment });
        } catch (err) {
          if (err instanceof MappingRejectedError) throw rejected(err.problems);
          throw err;
        }
      });
      printResult(opts, result, (r) => [`mapping saved as version ${r.version}`, ...r.warnings.map((w) => `warning: ${w}`)].join('\n'));
    });

  mapping
    .command('history')
    .description('list the saved mapping versions, newest first')
    .option('--json', 'print the versions as JSON')
    .action(async (raw: unknown) => {
      const opts = parseOptions(z.object({ json: jsonFlag }), raw);
      const versions = await withTools(({ store }) => store.mappings.versions());
      printResult(opts, versions, (rows) =>
        rows.length === 0
          ? 'no mapping saved yet'
          : table(rows, [
              { header: 'VERSION', value: (r) => r.version, right: true },
              { header: 'SAVED', value: (r) => r.createdAt },
              { header: 'AUTHOR', value: (r) => r.author ?? '' },
              { header: 'COMMENT', value: (r) => r.comment ?? '', max: 60 },
            ]),
      );
    });
}
