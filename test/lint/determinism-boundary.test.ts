import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

// The determinism boundary is a lint rule, not a review habit: prove the rule bites.
const root = fileURLToPath(new URL('../..', import.meta.url));
const probePath = `${root}workflows/probe-lint-only.ts`;

async function lint(source: string): Promise<string[]> {
  // The probe exists only as text, so the type-aware rules get it through the default project.
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['workflows/probe-lint-only.ts'] } } } },
  });
  const [result] = await eslint.lintText(source, { filePath: probePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('workflow determinism boundary', () => {
  test('Node built-ins and I/O libraries cannot be imported into workflows', async () => {
    const messages = await lint(
      [
        "import fs from 'node:fs';",
        "import http from 'http';",
        "import got from 'got';",
        "import pg from 'pg';",
        'export const used = [fs, http, got, pg];',
      ].join('\n'),
    );
    expect(messages.filter((m) => m.includes('workflows must stay deterministic'))).toHaveLength(4);
  });

  test('activities and libraries only as types; shared plain types are allowed', async () => {
    const messages = await lint(
      [
        "import * as acts from '../activities/schema.js';",
        "import type { SchemaActivities } from '../activities/schema.js';",
        "import { MarketoClient } from '../src/marketo/index.js';",
        "import { FAILURE_TYPES } from '../src/types/failure-types.js';",
        'export type T = SchemaActivities;',
        'export const used = [acts, MarketoClient, FAILURE_TYPES];',
      ].join('\n'),
    );
    expect(messages).toEqual([
      expect.stringContaining('import activities as types only'),
      expect.stringContaining('libraries do I/O'),
    ]);
  });

  test('floating promises are errors everywhere', async () => {
    const messages = await lint('async function step(): Promise<void> {}\nexport function run(): void { step(); }\n');
    expect(messages).toEqual([expect.stringContaining('@typescript-eslint/no-floating-promises')]);
  });
});
