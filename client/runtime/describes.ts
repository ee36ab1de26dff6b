import { MarketoSchemas, ObjectMetaData } from '../../src/mapping/marketo-schema.js';
import type { MarketoClient } from '../../src/marketo/index.js';

/**
 * The subscription's current Describe results as the mapping consumes them, read fresh (not from
 * the schema cache): a mapping is validated against what Marketo says now. Objects the subscription
 * lacks, or whose describe the mapping cannot read, are left out, so mapping them is an error.
 * Cost: 6 calls plus one per custom object type.
 */
export async function readCurrentSchemas(marketo: MarketoClient): Promise<MarketoSchemas> {
  // Through JSON, as the wire had it: the client parses datetimes into Dates, the mapping schemas take strings.
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  const input: Record<string, unknown> = { lead: plain(await marketo.describe.leads2()) };
  for (const [name, read] of [
    ['company', () => marketo.describe.companies()],
    ['opportunity', () => marketo.describe.opportunities()],
    ['opportunityRole', () => marketo.describe.opportunityRoles()],
    ['salesPerson', () => marketo.describe.salesPersons()],
  ] as const) {
    const meta = plain(await read());
    if (ObjectMetaData.safeParse(meta).success) input[name] = meta;
  }
  const customObjects: Record<string, unknown> = {};
  for (const type of await marketo.describe.customObjects()) {
    const meta = plain(await marketo.describe.customObject(type.name));
    if (ObjectMetaData.safeParse(meta).success) customObjects[type.name] = meta;
  }
  input.customObjects = customObjects;
  return MarketoSchemas.parse(input);
}
