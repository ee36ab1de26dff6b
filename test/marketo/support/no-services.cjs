// The marketo tests need no Postgres or Temporal; used with --globalSetup/--globalTeardown to skip them.
module.exports = async () => {};
