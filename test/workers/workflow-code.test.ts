import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as workflows from '../../workflows/index.js';
import { WORKFLOW_BUNDLE_ENV, workflowCode } from '../../workers/worker.js';

// Where workers get their workflow code: production bundles the entry file at start; the test
// suite (and anything else naming a bundle file) loads a bundle made once.
const entry = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

function withoutBundleEnv<T>(work: () => T): T {
  const saved = process.env[WORKFLOW_BUNDLE_ENV];
  delete process.env[WORKFLOW_BUNDLE_ENV];
  try {
    return work();
  } finally {
    if (saved !== undefined) process.env[WORKFLOW_BUNDLE_ENV] = saved;
  }
}

test('with no bundle named, as `marketo-sync worker` runs in production, the worker bundles the workflows entry itself', () => {
  expect(withoutBundleEnv(() => workflowCode())).toEqual({ workflowsPath: entry });
});

test('a named bundle that does not exist is an error naming the variable, not a silent fallback', () => {
  expect(() => workflowCode('/nonexistent/workflows.js')).toThrow(`workflow bundle not found at /nonexistent/workflows.js (${WORKFLOW_BUNDLE_ENV})`);
});

test("the suite's global setup bundled every workflow of the entry file once for this run", () => {
  const file = process.env[WORKFLOW_BUNDLE_ENV];
  expect(file).toBeDefined();
  expect(existsSync(file!)).toBe(true);
  expect(workflowCode()).toEqual({ workflowBundle: { codePath: file } });
  const code = readFileSync(file!, 'utf8');
  const workflowFunctions = Object.entries(workflows).filter(([, v]) => typeof v === 'function').map(([name]) => name);
  expect(workflowFunctions).toEqual(expect.arrayContaining(['bootstrap', 'syncLoop', 'onDemandSync', 'schemaRefresh', 'bulkExport']));
  for (const name of workflowFunctions) expect(code).toMatch(new RegExp(`function ${name}\\b`));
});
