import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderClassificationMarkdown } from '../../src/marketo/classification-doc.js';
import { CLASSIFICATION_TABLE } from '../../src/marketo/classification.js';

const docPath = path.resolve('docs/error-classification.md');

describe('docs/error-classification.md', () => {
  it('matches the classification table in the code', () => {
    const rendered = renderClassificationMarkdown();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(docPath, rendered);
    expect(readFileSync(docPath, 'utf8')).toBe(rendered);
  });

  it('has one row per table entry', () => {
    const doc = readFileSync(docPath, 'utf8');
    for (const e of CLASSIFICATION_TABLE) expect(doc).toContain(`| ${e.code} | `);
  });
});
