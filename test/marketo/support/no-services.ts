/**
 * The marketo tests need neither Postgres nor Temporal. Passed as --globalSetup/--globalTeardown while the
 * shared global setup cannot load (it imports `../../src/services/local-postgres.js`, which jest's
 * CommonJS loader for global setup does not map to the .ts file).
 */
export default async function noServices(): Promise<void> {}
