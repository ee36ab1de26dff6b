import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import { MarketoClient } from '../../src/marketo/index.js';
import { readMarketoSchemas } from '../../src/reconcile/person-mapping.js';

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ clientId: 'id', clientSecret: 'secret' });
});

afterAll(async () => {
  await emulator?.close();
});

// The client hands out parsed Dates; the mapping's schemas take the wire's strings. Company and
// salesperson describes once vanished silently here, taking company-field deferral with them.
test('the person mapping sees the lead, company and salesperson describes', async () => {
  const marketo = new MarketoClient({ baseUrl: emulator.url, clientId: 'id', clientSecret: 'secret' });
  const schemas = await readMarketoSchemas(marketo);
  expect(schemas.lead.fields.length).toBe(emulator.subscription.leadFields().length);
  expect(schemas.company?.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['externalCompanyId', 'company']));
  expect(schemas.salesPerson?.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['externalSalesPersonId', 'email']));
});
