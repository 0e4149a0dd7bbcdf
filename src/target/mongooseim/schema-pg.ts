// MongooseIM 6.8 on PostgreSQL: the tables xmpp-migrate writes, as our own DDL, and a check of a live target.
// Facts from shared/docs/storage-facts.md §1, checked against esl/MongooseIM: priv/pg.sql @ 6.8.0 (unchanged
// at master 475087c). Names of tables, columns, types, keys and indexes match upstream so MongooseIM's own
// upgrade scripts (priv/migrations/pgsql_*.sql, which refer to them) still apply to a schema created here.
import type { SqlQueryable } from '../sql-queryable.js';
import type { SchemaReport } from './mongooseim-dialect.js';
import { REQUIRED_COLUMNS, VCARD_SEARCH_FIELDS, missingFromCatalogue, type MongooseImTable } from './schema-tables.js';

// Tests and older callers import these from here.
export { REQUIRED_COLUMNS, type MongooseImTable };

/** CREATE TYPE has no IF NOT EXISTS: swallow only "already exists", so re-running the DDL is harmless. */
function enumType(name: string, labels: string[]): string {
  const list = labels.map((l) => `'${l}'`).join(', ');
  return `DO $$ BEGIN CREATE TYPE ${name} AS ENUM (${list}); EXCEPTION WHEN duplicate_object THEN NULL; END $$`;
}

/**
 * The statements, in dependency order. Idempotent (IF NOT EXISTS everywhere), so a rehearsal target can be
 * prepared on every run; an existing table is left as it is, whatever its shape: run `checkPgSchema` after.
 * Run them one by one (PGlite's `query` takes a single statement).
 */
export const MONGOOSEIM_PG_DDL: string[] = [
  // ---- enums
  enumType('mam_direction', ['I', 'O']),
  enumType('mam_behaviour', ['A', 'N', 'R']),
  enumType('pubsub_node_access_model', ['open', 'presence']),

  // ---- accounts (storage-facts §1.3): password is '' for SCRAM rows, pass_details NULL for plain rows
  `CREATE TABLE IF NOT EXISTS users (
    username     varchar(250) NOT NULL,
    server       varchar(250) NOT NULL,
    "password"   text         NOT NULL,
    pass_details text,
    created_at   timestamp    NOT NULL DEFAULT now(),
    PRIMARY KEY (server, username)
  )`,

  // ---- last activity (§1.6): seconds since the epoch of the last logout
  `CREATE TABLE IF NOT EXISTS last (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    seconds  integer      NOT NULL,
    state    text         NOT NULL,
    PRIMARY KEY (server, username)
  )`,
  'CREATE INDEX IF NOT EXISTS i_last_server_seconds ON last (server, seconds)',

  // ---- roster (§1.4): one-letter subscription and ask codes
  `CREATE TABLE IF NOT EXISTS rosterusers (
    server       varchar(250) NOT NULL,
    username     varchar(250) NOT NULL,
    jid          text         NOT NULL,
    nick         text         NOT NULL,
    subscription char(1)      NOT NULL,
    ask          char(1)      NOT NULL,
    askmessage   text         NOT NULL,
    created_at   timestamp    NOT NULL DEFAULT now(),
    PRIMARY KEY (server, username, jid)
  )`,
  `CREATE TABLE IF NOT EXISTS rostergroups (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    jid      text         NOT NULL,
    grp      text         NOT NULL,
    PRIMARY KEY (server, username, jid, grp)
  )`,
  `CREATE TABLE IF NOT EXISTS roster_version (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    version  text         NOT NULL,
    PRIMARY KEY (server, username)
  )`,

  // ---- vCard (§1.6): note the shorter server / lusername columns than in users
  `CREATE TABLE IF NOT EXISTS vcard (
    username   varchar(150) NOT NULL,
    server     varchar(100) NOT NULL,
    vcard      text         NOT NULL,
    created_at timestamp    NOT NULL DEFAULT now(),
    PRIMARY KEY (server, username)
  )`,
  `CREATE TABLE IF NOT EXISTS vcard_search (
    username  varchar(150) NOT NULL,
    lusername varchar(100) NOT NULL,
    server    varchar(250) NOT NULL,
${VCARD_SEARCH_FIELDS.map((f) => `    ${f} text NOT NULL,\n    l${f} text NOT NULL,`).join('\n')}
    PRIMARY KEY (server, lusername)
  )`,
  ...VCARD_SEARCH_FIELDS.map((f) => `CREATE INDEX IF NOT EXISTS i_vcard_search_l${f} ON vcard_search (l${f})`),

  // ---- privacy lists and XEP-0191 blocking (§1.7)
  `CREATE TABLE IF NOT EXISTS privacy_default_list (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    name     text         NOT NULL,
    PRIMARY KEY (server, username)
  )`,
  `CREATE TABLE IF NOT EXISTS privacy_list (
    server     varchar(250) NOT NULL,
    username   varchar(250) NOT NULL,
    name       text         NOT NULL,
    id         serial       NOT NULL UNIQUE,
    created_at timestamp    NOT NULL DEFAULT now(),
    PRIMARY KEY (server, username, name)
  )`,
  `CREATE TABLE IF NOT EXISTS privacy_list_data (
    id                 bigint  NOT NULL REFERENCES privacy_list (id) ON DELETE CASCADE,
    t                  char(1) NOT NULL,
    value              text    NOT NULL,
    action             char(1) NOT NULL,
    ord                integer NOT NULL,
    match_all          boolean NOT NULL,
    match_iq           boolean NOT NULL,
    match_message      boolean NOT NULL,
    match_presence_in  boolean NOT NULL,
    match_presence_out boolean NOT NULL,
    PRIMARY KEY (id, ord)
  )`,

  // ---- private XML storage (§1.6), keyed by the element's namespace
  `CREATE TABLE IF NOT EXISTS private_storage (
    server     varchar(250) NOT NULL,
    username   varchar(250) NOT NULL,
    namespace  varchar(250) NOT NULL,
    data       text         NOT NULL,
    created_at timestamp    NOT NULL DEFAULT now(),
    PRIMARY KEY (server, username, namespace)
  )`,

  // ---- MAM (§1.5): archive ids, personal and room archives, user preferences
  `CREATE TABLE IF NOT EXISTS mam_server_user (
    id        serial       PRIMARY KEY,
    server    varchar(250) NOT NULL,
    user_name varchar(250) NOT NULL
  )`,
  // A unique index, not a constraint: ON CONFLICT (server, user_name) still infers it.
  'CREATE UNIQUE INDEX IF NOT EXISTS i_mam_server_user_name ON mam_server_user (server, user_name)',
  // id = (µs << 8) | node, the only time column; is_groupchat has no default on a fresh 6.8 schema.
  `CREATE TABLE IF NOT EXISTS mam_message (
    id              bigint        NOT NULL,
    user_id         integer       NOT NULL,
    from_jid        varchar(250)  NOT NULL,
    remote_bare_jid varchar(250)  NOT NULL,
    remote_resource varchar(250)  NOT NULL,
    direction       mam_direction NOT NULL,
    message         bytea         NOT NULL,
    search_body     text,
    origin_id       varchar,
    is_groupchat    boolean       NOT NULL,
    PRIMARY KEY (user_id, id)
  )`,
  'CREATE INDEX IF NOT EXISTS i_mam_message_username_jid_id ON mam_message (user_id, remote_bare_jid, id)',
  'CREATE INDEX IF NOT EXISTS i_mam_message_username_jid_origin_id ON mam_message (user_id, remote_bare_jid, origin_id)',
  `CREATE TABLE IF NOT EXISTS mam_muc_message (
    id          bigint       NOT NULL,
    room_id     integer      NOT NULL,
    sender_id   integer      NOT NULL,
    nick_name   varchar(250) NOT NULL,
    message     bytea        NOT NULL,
    search_body text,
    origin_id   varchar,
    PRIMARY KEY (room_id, id)
  )`,
  'CREATE INDEX IF NOT EXISTS i_mam_muc_message_sender_id ON mam_muc_message (sender_id)',
  'CREATE INDEX IF NOT EXISTS i_mam_muc_message_room_id_sender_id_origin_id ON mam_muc_message (room_id, sender_id, origin_id)',
  `CREATE TABLE IF NOT EXISTS mam_config (
    user_id    integer       NOT NULL,
    remote_jid varchar(250)  NOT NULL,
    behaviour  mam_behaviour NOT NULL,
    PRIMARY KEY (user_id, remote_jid)
  )`,

  // ---- offline messages (§1.6): timestamps in µs, packet is XML text
  `CREATE TABLE IF NOT EXISTS offline_message (
    id               serial       PRIMARY KEY,
    timestamp        bigint       NOT NULL,
    expire           bigint,
    server           varchar(250) NOT NULL,
    username         varchar(250) NOT NULL,
    from_jid         varchar(250) NOT NULL,
    packet           text         NOT NULL,
    permanent_fields bytea
  )`,
  'CREATE INDEX IF NOT EXISTS i_offline_message ON offline_message (server, username, id)',

  // ---- classic MUC (§1.9): persistent rooms, affiliations, registered nicks
  `CREATE TABLE IF NOT EXISTS muc_rooms (
    id        bigserial    NOT NULL UNIQUE,
    muc_host  varchar(250) NOT NULL,
    room_name varchar(250) NOT NULL,
    options   json         NOT NULL,
    PRIMARY KEY (muc_host, room_name)
  )`,
  `CREATE TABLE IF NOT EXISTS muc_room_aff (
    room_id  bigint       NOT NULL REFERENCES muc_rooms (id),
    luser    varchar(250) NOT NULL,
    lserver  varchar(250) NOT NULL,
    resource varchar(250) NOT NULL,
    aff      smallint     NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS i_muc_room_aff_id ON muc_room_aff (room_id)',
  `CREATE TABLE IF NOT EXISTS muc_registered (
    muc_host varchar(250) NOT NULL,
    luser    varchar(250) NOT NULL,
    lserver  varchar(250) NOT NULL,
    nick     varchar(250) NOT NULL,
    PRIMARY KEY (muc_host, luser, lserver)
  )`,

  // ---- inbox (§1.8): muted_until is nullable upstream, but the server expects 0, never NULL
  `CREATE TABLE IF NOT EXISTS inbox (
    luser           varchar(250) NOT NULL,
    lserver         varchar(250) NOT NULL,
    remote_bare_jid varchar(250) NOT NULL,
    msg_id          varchar(250),
    box             varchar(64)  NOT NULL DEFAULT 'inbox',
    content         bytea        NOT NULL,
    timestamp       bigint       NOT NULL,
    muted_until     bigint       DEFAULT 0,
    unread_count    integer      NOT NULL,
    PRIMARY KEY (lserver, luser, remote_bare_jid)
  )`,
  'CREATE INDEX IF NOT EXISTS i_inbox_timestamp ON inbox (lserver, luser, timestamp)',
  'CREATE INDEX IF NOT EXISTS i_inbox_us_box ON inbox (lserver, luser, box)',
  "CREATE INDEX IF NOT EXISTS i_inbox_box ON inbox (box) WHERE box = 'bin'",

  // ---- dynamic domains (§1.2): a domain_settings row and a domain_events row, in one transaction
  `CREATE TABLE IF NOT EXISTS domain_settings (
    id        bigserial    NOT NULL UNIQUE,
    domain    varchar(250) NOT NULL,
    host_type varchar(250) NOT NULL,
    status    smallint     NOT NULL DEFAULT 1,
    PRIMARY KEY (domain)
  )`,
  `CREATE TABLE IF NOT EXISTS domain_events (
    id     bigserial    PRIMARY KEY,
    domain varchar(250) NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS i_domain_events_domain ON domain_events (domain)',

  // ---- PEP-only mod_pubsub, new in 6.8.0 (§1.10): published_at in µs, max_items NULL = unlimited
  `CREATE TABLE IF NOT EXISTS pubsub_node (
    service_domain varchar(125)             NOT NULL,
    service_user   varchar(125)             NOT NULL,
    node_id        varchar(125)             NOT NULL,
    access_model   pubsub_node_access_model NOT NULL,
    max_items      bigint,
    PRIMARY KEY (service_domain, service_user, node_id)
  )`,
  `CREATE TABLE IF NOT EXISTS pubsub_item (
    service_domain     varchar(125) NOT NULL,
    service_user       varchar(125) NOT NULL,
    node_id            varchar(125) NOT NULL,
    item_id            varchar(125) NOT NULL,
    publisher_domain   varchar(125) NOT NULL,
    publisher_user     varchar(125) NOT NULL,
    publisher_resource varchar(125) NOT NULL,
    payload            text         NOT NULL,
    published_at       bigint       NOT NULL,
    PRIMARY KEY (service_domain, service_user, node_id, item_id),
    FOREIGN KEY (service_domain, service_user, node_id)
      REFERENCES pubsub_node (service_domain, service_user, node_id) ON DELETE CASCADE
  )`,
  'CREATE INDEX IF NOT EXISTS i_pubsub_item_published_at ON pubsub_item (service_domain, service_user, node_id, published_at)',
  `CREATE TABLE IF NOT EXISTS pubsub_subscription (
    service_domain      varchar(125) NOT NULL,
    service_user        varchar(125) NOT NULL,
    node_id             varchar(125) NOT NULL,
    subscriber_domain   varchar(125) NOT NULL,
    subscriber_user     varchar(125) NOT NULL,
    subscriber_resource varchar(125) NOT NULL,
    PRIMARY KEY (service_domain, service_user, node_id, subscriber_domain, subscriber_user, subscriber_resource),
    FOREIGN KEY (service_domain, service_user, node_id)
      REFERENCES pubsub_node (service_domain, service_user, node_id) ON DELETE CASCADE
  )`,
  'CREATE INDEX IF NOT EXISTS i_pubsub_subscription_subscriber ON pubsub_subscription (subscriber_domain, subscriber_user)',
];

export type PgSchemaReport = SchemaReport;

/**
 * Compares the target's current schema (the first of its search_path, where MongooseIM's unqualified
 * queries land) with REQUIRED_COLUMNS. Pass `tables` to check only what a run will write, e.g. a 6.7
 * target has no pubsub_node and is fine for a run without PEP. information_schema lists only what the
 * connected role may access, so a column it cannot use is reported missing: it cannot be written either.
 */
export async function checkPgSchema(
  db: SqlQueryable,
  tables: readonly MongooseImTable[] = Object.keys(REQUIRED_COLUMNS) as MongooseImTable[],
): Promise<PgSchemaReport> {
  // A table information_schema lists no column of is missing (or invisible to this role: unwritable too).
  const columns = await db.query(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY ($1::text[])`,
    [[...tables]],
  );
  return missingFromCatalogue(tables, columns.rows as Array<{ table_name: string; column_name: string }>);
}

/** Runs MONGOOSEIM_PG_DDL statement by statement. Wrap it in a transaction on a single connection if needed. */
export async function createPgSchema(db: SqlQueryable): Promise<void> {
  for (const statement of MONGOOSEIM_PG_DDL) await db.query(statement);
}
