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
  {
    id: 9,
    name: 'bootstrap staging',
    // What the bootstrap's phases hand each other (keys seen on leads, objects loaded, references
    // still to set), per run. Earlier versions created these tables on first use, hence IF NOT
    // EXISTS throughout. Kept logged: a Postgres crash empties unlogged tables, and a resumed
    // bootstrap would then finish with companies never fetched and persons never linked.
    sql: `
      CREATE TABLE IF NOT EXISTS bootstrap_person_refs (
        run_id                    text NOT NULL,
        marketo_lead_id           bigint NOT NULL,
        person_type               text NOT NULL,
        external_company_id       text,
        external_sales_person_id  text,
        PRIMARY KEY (run_id, marketo_lead_id)
      );
      ALTER TABLE bootstrap_person_refs ADD COLUMN IF NOT EXISTS account_linked boolean NOT NULL DEFAULT false;
      ALTER TABLE bootstrap_person_refs ADD COLUMN IF NOT EXISTS owner_linked boolean NOT NULL DEFAULT false;
      CREATE INDEX IF NOT EXISTS bootstrap_person_refs_account_pending ON bootstrap_person_refs (run_id, marketo_lead_id)
        WHERE NOT account_linked AND person_type = 'contact';
      CREATE INDEX IF NOT EXISTS bootstrap_person_refs_owner_pending ON bootstrap_person_refs (run_id, marketo_lead_id) WHERE NOT owner_linked;
      CREATE TABLE IF NOT EXISTS bootstrap_role_refs (
        run_id                   text NOT NULL,
        activity_guid            text NOT NULL,
        marketo_lead_id          bigint NOT NULL,
        external_opportunity_id  text,
        opportunity_guid         text,
        role                     text,
        PRIMARY KEY (run_id, activity_guid)
      );
      CREATE TABLE IF NOT EXISTS bootstrap_loaded (
        run_id            text NOT NULL,
        kind              text NOT NULL,
        key               text NOT NULL,
        crm_id            text,
        company_key       text,
        sales_person_key  text,
        account_linked    boolean NOT NULL DEFAULT false,
        owner_linked      boolean NOT NULL DEFAULT false,
        PRIMARY KEY (run_id, kind, key)
      );
      -- Distinct company and salesperson keys seen so far: what the loading steps fetch, without
      -- scanning every staged person each round.
      CREATE TABLE IF NOT EXISTS bootstrap_keys (
        run_id  text NOT NULL,
        kind    text NOT NULL CHECK (kind IN ('company', 'salesPerson')),
        key     text NOT NULL,
        PRIMARY KEY (run_id, kind, key)
      );
      INSERT INTO bootstrap_keys (run_id, kind, key)
        SELECT DISTINCT run_id, 'company', external_company_id FROM bootstrap_person_refs WHERE external_company_id IS NOT NULL
        UNION SELECT DISTINCT run_id, 'salesPerson', external_sales_person_id FROM bootstrap_person_refs WHERE external_sales_person_id IS NOT NULL
        ON CONFLICT DO NOTHING;`,
  },
];
