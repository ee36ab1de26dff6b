import type { Migration } from './migrate.js';

/** The sync's own state. Numbered, append-only: add a migration, never edit a shipped one. */
export const stateStoreMigrations: readonly Migration[] = [
  {
    id: 1,
    name: 'watermarks',
    sql: `
      CREATE TABLE watermarks (
        stream      text PRIMARY KEY,
        watermark   timestamptz,
        cursor      text,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    id: 2,
    name: 'id map',
    sql: `
      CREATE TABLE id_map (
        entity      text NOT NULL,
        marketo_id  text NOT NULL,
        crm_type    text NOT NULL,
        crm_id      text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (entity, marketo_id),
        UNIQUE (entity, crm_type, crm_id)
      );`,
  },
  {
    id: 3,
    name: 'schema cache',
    sql: `
      CREATE TABLE schema_cache (
        system      text NOT NULL CHECK (system IN ('marketo', 'crm')),
        object      text NOT NULL,
        describe    jsonb NOT NULL,
        fetched_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (system, object)
      );`,
  },
  {
    id: 4,
    name: 'mappings',
    sql: `
      CREATE TABLE mappings (
        version     integer PRIMARY KEY,
        config      jsonb NOT NULL,
        author      text,
        comment     text,
        warnings    jsonb NOT NULL DEFAULT '[]',
        created_at  timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    id: 5,
    name: 'error ledger',
    sql: `
      CREATE TABLE error_ledger (
        id          bigserial PRIMARY KEY,
        entity      text NOT NULL,
        record_key  text NOT NULL,
        operation   text NOT NULL,
        source      text NOT NULL CHECK (source IN ('marketo', 'crm')),
        code        text NOT NULL,
        reason      text NOT NULL,
        attempts    integer NOT NULL DEFAULT 1,
        status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'retrying', 'ignored', 'resolved')),
        first_seen  timestamptz NOT NULL DEFAULT now(),
        last_seen   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (entity, record_key, operation)
      );
      CREATE INDEX error_ledger_status ON error_ledger (status, last_seen);`,
  },
  {
    id: 6,
    name: 'cycle history',
    sql: `
      CREATE TABLE cycles (
        id           bigserial PRIMARY KEY,
        kind         text NOT NULL,
        started_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz,
        duration_ms  integer,
        status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
        api_calls    integer NOT NULL DEFAULT 0,
        error        text
      );
      CREATE TABLE cycle_records (
        cycle_id   bigint NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
        entity     text NOT NULL,
        direction  text NOT NULL CHECK (direction IN ('toCrm', 'toMarketo')),
        created    integer NOT NULL DEFAULT 0,
        updated    integer NOT NULL DEFAULT 0,
        deleted    integer NOT NULL DEFAULT 0,
        failed     integer NOT NULL DEFAULT 0,
        PRIMARY KEY (cycle_id, entity, direction)
      );`,
  },
  {
    id: 7,
    name: 'lead merges',
    sql: `
      CREATE TABLE lead_merges (
        system     text NOT NULL CHECK (system IN ('marketo', 'crm')),
        loser_id   text NOT NULL,
        winner_id  text NOT NULL,
        merged_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (system, loser_id),
        CHECK (loser_id <> winner_id)
      );`,
  },
  {
    id: 8,
    name: 'cycle conflicts',
    // Which field of which record both sides changed and who won; never the values.
    sql: `
      CREATE TABLE cycle_conflicts (
        cycle_id    bigint NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
        entity      text NOT NULL,
        record_key  text NOT NULL,
        field       text NOT NULL,
        rule        text NOT NULL,
        winner      text NOT NULL CHECK (winner IN ('crm', 'marketo')),
        at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cycle_id, entity, record_key, field)
      );`,
  },
];
