import type { Migration } from '../../store/migrate.js';

/**
 * The Postgres CRM's tables. Every table carries `updated_at` and `origin`, set by a trigger so
 * that writes made by any program are seen; deletes leave a tombstone written by a trigger.
 *
 * `origin` is how the sync recognises its own writes: the connector runs its writes with the
 * transaction setting `crmsync.origin = 'sync'`, the trigger copies it into the row (or 'user'
 * when unset), and readChanges leaves `sync` rows out. A per-transaction setting, rather than a
 * column the writer fills, means no other program can forget it or fake it by accident, and a
 * later user edit of the same row flips it back to 'user'. A write that changes nothing keeps the
 * row's time and origin, so a no-op sync write never hides a pending user change.
 */
const functions = `
-- A cheap structural check (a regex per row costs more than the insert itself); the connector validates fully.
CREATE DOMAIN email_address AS varchar(255) CHECK (position('@' IN VALUE) > 1);
CREATE DOMAIN phone_number AS varchar(40);
CREATE DOMAIN web_url AS varchar(2048);
CREATE DOMAIN currency_amount AS numeric(18, 2);
CREATE DOMAIN percent_value AS numeric(7, 4);

CREATE FUNCTION touch_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NEW;
  END IF;
  NEW.updated_at := clock_timestamp();
  NEW.origin := coalesce(nullif(current_setting('crmsync.origin', true), ''), 'user');
  RETURN NEW;
END
$fn$;

-- TG_ARGV[0] is the entity name, the other arguments the key columns kept in the tombstone.
CREATE FUNCTION write_tombstone() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  old_row jsonb := to_jsonb(OLD);
  keys jsonb := '{}';
  i int;
BEGIN
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    keys := keys || jsonb_build_object(TG_ARGV[i], old_row -> TG_ARGV[i]);
  END LOOP;
  EXECUTE format('INSERT INTO %I.tombstones (entity, record_id, origin, keys, merged_into) VALUES ($1, $2, $3, $4, $5)', TG_TABLE_SCHEMA)
    USING TG_ARGV[0], OLD.id, coalesce(nullif(current_setting('crmsync.origin', true), ''), 'user'), keys,
          nullif(current_setting('crmsync.merged_into', true), '');
  RETURN OLD;
END
$fn$;

CREATE TABLE tombstones (
  seq         bigserial PRIMARY KEY,
  entity      text NOT NULL,
  record_id   varchar(40) NOT NULL,
  deleted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  origin      text NOT NULL,
  keys        jsonb NOT NULL DEFAULT '{}',
  merged_into varchar(40)
);
CREATE INDEX tombstones_stream ON tombstones (entity, deleted_at, record_id COLLATE "C");

-- Custom objects provisioned from Marketo: entity custom:<name> lives in table co_<name>.
CREATE TABLE custom_objects (
  name          text PRIMARY KEY,
  table_name    text NOT NULL UNIQUE,
  dedupe_fields text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
`;

/** DDL shared by every tracked table (core or custom object). Identifiers must be pre-validated and quoted. */
export function trackedTableDdl(table: string, entity: string, idPrefix: string, tombstoneKeys: readonly string[], quote: (s: string) => string, literal: (s: string) => string): string {
  const t = quote(table);
  const seq = quote(`${table}_id_seq`);
  const args = [entity, ...tombstoneKeys].map(literal).join(', ');
  return `
CREATE SEQUENCE ${seq};
ALTER TABLE ${t} ALTER COLUMN id SET DEFAULT (${literal(idPrefix)} || lpad(nextval(${literal(`${table}_id_seq`)}::regclass)::text, 12, '0'));
ALTER SEQUENCE ${seq} OWNED BY ${t}.id;
CREATE INDEX ${quote(`${table}_changes`)} ON ${t} (updated_at, id COLLATE "C");
CREATE TRIGGER touch_insert BEFORE INSERT ON ${t} FOR EACH ROW
  WHEN (NEW.origin IS DISTINCT FROM ${ORIGIN} OR NEW.updated_at < statement_timestamp() OR NEW.updated_at > clock_timestamp())
  EXECUTE FUNCTION touch_row();
CREATE TRIGGER touch_update BEFORE UPDATE ON ${t} FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_row();
CREATE TRIGGER tombstone AFTER DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION write_tombstone(${args});
`;
}

/** The writer as the transaction declares it (see the header): 'sync' for the sync, else 'user'. */
const ORIGIN = `coalesce(nullif(current_setting('crmsync.origin', true), ''), 'user')`;

/**
 * Columns every tracked table starts with. On insert the defaults stamp the row; the insert
 * trigger only runs (WHEN guard, no function call otherwise) for a writer that supplied its own
 * time or origin, which keeps bulk inserts cheap and the stamps trustworthy.
 */
export const TRACKED_COLUMNS = `
  id          varchar(40) PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  origin      text NOT NULL DEFAULT ${ORIGIN}`;

const q = (s: string) => `"${s}"`;
const lit = (s: string) => `'${s}'`;

const tables = `
CREATE TABLE users (${TRACKED_COLUMNS},
  email       email_address,
  first_name  varchar(255),
  last_name   varchar(255),
  title       varchar(255),
  phone       phone_number,
  is_active   boolean NOT NULL DEFAULT true
);
${trackedTableDdl('users', 'user', 'U', [], q, lit)}

CREATE TABLE accounts (${TRACKED_COLUMNS},
  name                varchar(255) NOT NULL,
  website             web_url,
  industry            varchar(255),
  annual_revenue      currency_amount,
  number_of_employees integer,
  phone               phone_number,
  billing_street      varchar(255),
  billing_city        varchar(255),
  billing_state       varchar(255),
  billing_postal_code varchar(255),
  billing_country     varchar(255),
  sic_code            varchar(40),
  owner_id            varchar(40) REFERENCES users (id) ON DELETE SET NULL
);
${trackedTableDdl('accounts', 'account', 'A', [], q, lit)}

CREATE TABLE leads (${TRACKED_COLUMNS},
  marketo_lead_id        bigint UNIQUE,
  first_name             varchar(255),
  last_name              varchar(255),
  email                  email_address,
  phone                  phone_number,
  mobile_phone           phone_number,
  title                  varchar(255),
  company                varchar(255),
  industry               varchar(255),
  website                web_url,
  annual_revenue         currency_amount,
  number_of_employees    integer,
  lead_source            varchar(255),
  lead_status            varchar(255),
  rating                 varchar(255),
  street                 varchar(255),
  city                   varchar(255),
  state                  varchar(255),
  postal_code            varchar(255),
  country                varchar(255),
  do_not_call            boolean NOT NULL DEFAULT false,
  unsubscribed           boolean NOT NULL DEFAULT false,
  lead_score             integer,
  acquisition_program_id integer,
  acquisition_date       timestamptz,
  owner_id               varchar(40) REFERENCES users (id) ON DELETE SET NULL,
  is_converted           boolean NOT NULL DEFAULT false,
  converted_at           timestamptz,
  converted_contact_id   varchar(40),
  converted_account_id   varchar(40)
);
${trackedTableDdl('leads', 'lead', 'L', ['marketo_lead_id', 'email'], q, lit)}

CREATE TABLE contacts (${TRACKED_COLUMNS},
  marketo_lead_id        bigint UNIQUE,
  account_id             varchar(40) REFERENCES accounts (id) ON DELETE SET NULL,
  first_name             varchar(255),
  last_name              varchar(255),
  email                  email_address,
  phone                  phone_number,
  mobile_phone           phone_number,
  title                  varchar(255),
  department             varchar(255),
  lead_source            varchar(255),
  mailing_street         varchar(255),
  mailing_city           varchar(255),
  mailing_state          varchar(255),
  mailing_postal_code    varchar(255),
  mailing_country        varchar(255),
  birthdate              date,
  do_not_call            boolean NOT NULL DEFAULT false,
  unsubscribed           boolean NOT NULL DEFAULT false,
  lead_score             integer,
  acquisition_program_id integer,
  acquisition_date       timestamptz,
  owner_id               varchar(40) REFERENCES users (id) ON DELETE SET NULL
);
${trackedTableDdl('contacts', 'contact', 'C', ['marketo_lead_id', 'email'], q, lit)}

CREATE TABLE opportunities (${TRACKED_COLUMNS},
  account_id    varchar(40) REFERENCES accounts (id) ON DELETE SET NULL,
  name          varchar(255) NOT NULL,
  description   text,
  amount        currency_amount,
  probability   percent_value,
  is_closed     boolean NOT NULL DEFAULT false,
  is_won        boolean NOT NULL DEFAULT false,
  stage         varchar(255),
  type          varchar(255),
  lead_source   varchar(255),
  next_step     varchar(255),
  created_date  timestamptz NOT NULL DEFAULT now(),
  close_date    date,
  owner_id      varchar(40) REFERENCES users (id) ON DELETE SET NULL,
  CHECK (NOT is_won OR is_closed)
);
${trackedTableDdl('opportunities', 'opportunity', 'O', [], q, lit)}

CREATE TABLE opportunity_contact_roles (${TRACKED_COLUMNS},
  opportunity_id varchar(40) NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
  contact_id     varchar(40) NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  role           varchar(50) NOT NULL,
  is_primary     boolean NOT NULL DEFAULT false,
  UNIQUE (opportunity_id, contact_id, role)
);
${trackedTableDdl('opportunity_contact_roles', 'opportunityRole', 'R', ['opportunity_id', 'contact_id', 'role'], q, lit)}
`;

/**
 * Marketo's own keys on the CRM records the bootstrap and the pull create from Marketo data, so a
 * repeated load finds the record it wrote (idempotent upserts keyed on them), and the Marketo-only
 * objects the seed maps into a CRM: programs as campaigns with their membership (as Marketo's
 * native Salesforce sync does), static lists with theirs, and activities as one generic object
 * (type, date, primary attribute, attributes as JSON). Person links on these rows are the CRM ids
 * known when written (`lead_id` or `contact_id`), plain columns rather than foreign keys because
 * Marketo may reference people the CRM does not hold.
 */
const marketoKeysAndObjects = `
ALTER TABLE accounts ADD COLUMN external_company_id varchar(255) UNIQUE;
ALTER TABLE users ADD COLUMN external_sales_person_id varchar(255) UNIQUE;
ALTER TABLE opportunities ADD COLUMN external_opportunity_id varchar(255) UNIQUE;
ALTER TABLE opportunity_contact_roles ADD COLUMN marketo_guid varchar(64) UNIQUE;

CREATE TABLE campaigns (${TRACKED_COLUMNS},
  marketo_program_id integer UNIQUE,
  name               varchar(255) NOT NULL,
  description        text,
  program_type       varchar(64),
  channel            varchar(255),
  status             varchar(64),
  workspace          varchar(255),
  url                web_url,
  marketo_created_at timestamptz,
  marketo_updated_at timestamptz
);
${trackedTableDdl('campaigns', 'campaign', 'P', ['marketo_program_id'], q, lit)}

CREATE TABLE campaign_members (${TRACKED_COLUMNS},
  marketo_key        varchar(64) NOT NULL UNIQUE,
  campaign_id        varchar(40) REFERENCES campaigns (id) ON DELETE CASCADE,
  marketo_program_id integer NOT NULL,
  marketo_lead_id    bigint NOT NULL,
  lead_id            varchar(40),
  contact_id         varchar(40),
  status             varchar(255),
  is_success         boolean NOT NULL DEFAULT false,
  success_date       timestamptz,
  membership_date    timestamptz,
  acquired_by        boolean NOT NULL DEFAULT false
);
${trackedTableDdl('campaign_members', 'campaignMember', 'M', ['marketo_key'], q, lit)}

CREATE TABLE static_lists (${TRACKED_COLUMNS},
  marketo_list_id    integer UNIQUE,
  name               varchar(255) NOT NULL,
  description        text,
  program_name       varchar(255),
  workspace          varchar(255),
  marketo_created_at timestamptz,
  marketo_updated_at timestamptz
);
${trackedTableDdl('static_lists', 'staticList', 'S', ['marketo_list_id'], q, lit)}

CREATE TABLE list_members (${TRACKED_COLUMNS},
  marketo_key     varchar(64) NOT NULL UNIQUE,
  static_list_id  varchar(40) REFERENCES static_lists (id) ON DELETE CASCADE,
  marketo_list_id integer NOT NULL,
  marketo_lead_id bigint NOT NULL,
  lead_id         varchar(40),
  contact_id      varchar(40)
);
${trackedTableDdl('list_members', 'listMember', 'T', ['marketo_key'], q, lit)}

CREATE TABLE marketing_activities (${TRACKED_COLUMNS},
  marketo_guid               varchar(64) NOT NULL UNIQUE,
  activity_type_id           integer NOT NULL,
  activity_type              varchar(255),
  activity_date              timestamptz NOT NULL,
  marketo_lead_id            bigint NOT NULL,
  lead_id                    varchar(40),
  contact_id                 varchar(40),
  marketo_campaign_id        integer,
  primary_attribute_value_id varchar(255),
  primary_attribute_value    text,
  attributes                 text
);
${trackedTableDdl('marketing_activities', 'activity', 'V', ['marketo_guid'], q, lit)}
`;

/**
 * Tombstones of accounts, users and opportunities keep the Marketo key column (and roles their
 * GUID), so a delete can find a Marketo-born record under the key Marketo knows it by.
 *
 * A sync write that changes nothing but those key columns (the push recording the GUID Marketo
 * gave a role) is bookkeeping, not a change: the row keeps its stamp and origin. Otherwise it
 * would flip a row a user just edited to origin 'sync', and that edit would never be pushed.
 */
const marketoKeysInTombstones = `
CREATE OR REPLACE FUNCTION touch_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  writer text := coalesce(nullif(current_setting('crmsync.origin', true), ''), 'user');
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NEW;
    END IF;
    -- TG_ARGV: the key columns a sync write may set without it counting as a change.
    IF writer = 'sync' AND TG_NARGS > 0 AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
      NEW.updated_at := OLD.updated_at;
      NEW.origin := OLD.origin;
      RETURN NEW;
    END IF;
  END IF;
  NEW.updated_at := clock_timestamp();
  NEW.origin := writer;
  RETURN NEW;
END
$fn$;

DROP TRIGGER tombstone ON accounts;
CREATE TRIGGER tombstone AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION write_tombstone('account', 'external_company_id');
DROP TRIGGER tombstone ON users;
CREATE TRIGGER tombstone AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION write_tombstone('user', 'external_sales_person_id');
DROP TRIGGER tombstone ON opportunities;
CREATE TRIGGER tombstone AFTER DELETE ON opportunities FOR EACH ROW EXECUTE FUNCTION write_tombstone('opportunity', 'external_opportunity_id');
DROP TRIGGER tombstone ON opportunity_contact_roles;
CREATE TRIGGER tombstone AFTER DELETE ON opportunity_contact_roles FOR EACH ROW
  EXECUTE FUNCTION write_tombstone('opportunityRole', 'opportunity_id', 'contact_id', 'role', 'marketo_guid');

DROP TRIGGER touch_update ON accounts;
CREATE TRIGGER touch_update BEFORE UPDATE ON accounts FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_row('external_company_id');
DROP TRIGGER touch_update ON users;
CREATE TRIGGER touch_update BEFORE UPDATE ON users FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_row('external_sales_person_id');
DROP TRIGGER touch_update ON opportunities;
CREATE TRIGGER touch_update BEFORE UPDATE ON opportunities FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_row('external_opportunity_id');
DROP TRIGGER touch_update ON opportunity_contact_roles;
CREATE TRIGGER touch_update BEFORE UPDATE ON opportunity_contact_roles FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION touch_row('marketo_guid');
`;

/**
 * The pull's `flag` delete policy marks persons Marketo deleted instead of deleting them; the
 * push skips marked persons, so a CRM edit does not recreate a lead Marketo deleted.
 */
const deletedInMarketo = `
ALTER TABLE leads ADD COLUMN deleted_in_marketo boolean NOT NULL DEFAULT false;
ALTER TABLE contacts ADD COLUMN deleted_in_marketo boolean NOT NULL DEFAULT false;
`;

export const crmMigrations: readonly Migration[] = [
  { id: 1, name: 'tracking functions and tombstones', sql: functions },
  { id: 2, name: 'core CRM tables', sql: tables },
  { id: 3, name: 'Marketo keys, campaigns, lists and activities', sql: marketoKeysAndObjects },
  { id: 4, name: 'Marketo keys in tombstones; key-only sync writes keep the stamp', sql: marketoKeysInTombstones },
  { id: 5, name: 'deleted_in_marketo flag on leads and contacts', sql: deletedInMarketo },
];
