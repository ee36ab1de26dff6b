import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: nothing with I/O or clocks may be imported there.
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const ioLibraries = ['got', 'pg', 'pino', 'prom-client', 'csv-parse', 'csv-stringify', 'busboy', 'commander', 'cli-progress', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', '*.config.js', 'eslint.config.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...ioLibraries].map((name) => ({ name, message: 'workflows must stay deterministic: do I/O in an activity' })),
          patterns: [
            { regex: '^(\\.\\./)+activities/', allowTypeImports: true, message: 'import activities as types only (proxyActivities)' },
            { regex: '^(\\.\\./)+src/(?!types/)', allowTypeImports: true, message: 'libraries do I/O: call them from activities' },
            { regex: '^(\\.\\./)+(emulator|client|workers)/', message: 'workflows import no process code' },
          ],
        },
      ],
    },
  },
);
