import { MarketoApiError } from '../../../src/marketo/errors.js';

/** The MarketoApiError a call rejects with; any other outcome fails the test. */
export async function failureOf(p: Promise<unknown>): Promise<MarketoApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MarketoApiError) return err;
    throw err;
  }
  throw new Error('expected a MarketoApiError');
}
