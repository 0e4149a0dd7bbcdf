// MongooseIM 6.8 on MySQL / MariaDB: the tables xmpp-migrate writes, as our own DDL, and the checks of a
// live target (tables and columns; character sets). Facts from shared/docs/storage-facts.md §1 (the MySQL
// columns of each table, §1.11), checked against esl/MongooseIM: priv/mysql.sql @ 6.8.0 (unchanged at
// master 475087c). Names of tables, columns, types, keys and indexes match upstream so MongooseIM's own
// upgrade scripts (priv/migrations/mysql_*.sql) still apply. Two deliberate differences: every table
// names its character set (upstream leaves muc_*, inbox and domain_* to the database default, which turns
// emoji into errors or `?` in a latin1 database), and indexes are declared inside CREATE TABLE so the whole
// DDL is idempotent on MySQL 8 too (which has no CREATE INDEX IF NOT EXISTS).
import type { SqlQueryable } from '../sql-queryable.js';
import type { SchemaReport } from './mongooseim-dialect.js';
import { REQUIRED_COLUMNS, VCARD_SEARCH_FIELDS, missingFromCatalogue, type MongooseImTable } from './schema-tables.js';

/** Every table: utf8mb4 (4-byte UTF-8), dynamic rows (long index prefixes), InnoDB. */
const TABLE_OPTIONS = 'ENGINE=InnoDB CHARACTER SET utf8mb4 ROW_FORMAT=DYNAMIC';

/**
 * The statements, in dependency order; each is idempotent (CREATE TABLE IF NOT EXISTS), so a rehearsal
 * target can be prepared on every run. An existing table is left as it is: run `checkMysqlSchema` after.
 */
export const MONGOOSEIM_MYSQL_DDL: string[] = [
  // ---- accounts (storage-facts §1.3): password is '' for SCRAM rows, pass_details NULL for plain rows.
  // TIMESTAMP keeps whole seconds in UTC (our session's time zone is UTC).
  `CREATE TABLE IF NOT EXISTS users (
    username     varchar(250) NOT NULL,
    server       varchar(250) NOT NULL,
    password     text         NOT NULL,
    pass_details text,
    created_at   timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (server, username)
  ) ${TABLE_OPTIONS}`,

  // ---- last activity (§1.6)
  `CREATE TABLE IF NOT EXISTS last (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    seconds  int          NOT NULL,
    state    text         NOT NULL,
    PRIMARY KEY (server, username),
    INDEX i_last_server_seconds (server, seconds)
  ) ${TABLE_OPTIONS}`,

  // ---- roster (§1.4): jid and grp are varchar(250) here (text on PostgreSQL); the rostergroups key uses
  // prefixes, so group names sharing their first 150 characters collide.
  `CREATE TABLE IF NOT EXISTS rosterusers (
    server       varchar(250) NOT NULL,
    username     varchar(250) NOT NULL,
    jid          varchar(250) NOT NULL,
    nick         text         NOT NULL,
    subscription char(1)      NOT NULL,
    ask          char(1)      NOT NULL,
    askmessage   text         NOT NULL,
    created_at   timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (server, username, jid)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS rostergroups (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    jid      varchar(250) NOT NULL,
    grp      varchar(250) NOT NULL,
    PRIMARY KEY (server(150), username(200), jid, grp(150))
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS roster_version (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    version  text         NOT NULL,
    PRIMARY KEY (server, username)
  ) ${TABLE_OPTIONS}`,

  // ---- vCard (§1.6): server is varchar(150) in both tables; keys lead with the user, not the server
  `CREATE TABLE IF NOT EXISTS vcard (
    username   varchar(150) NOT NULL,
    server     varchar(150) NOT NULL,
    vcard      mediumtext   NOT NULL,
    created_at timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (username, server)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS vcard_search (
    username  varchar(150) NOT NULL,
    lusername varchar(100) NOT NULL,
    server    varchar(150) NOT NULL,
${VCARD_SEARCH_FIELDS.map((f) => `    ${f} text NOT NULL,\n    l${f} varchar(250) NOT NULL,`).join('\n')}
    PRIMARY KEY (lusername, server),
    INDEX i_vcard_search_server (server),
${VCARD_SEARCH_FIELDS.map((f) => `    INDEX i_vcard_search_l${f} (l${f})`).join(',\n')}
  ) ${TABLE_OPTIONS}`,

  // ---- privacy lists and XEP-0191 blocking (§1.7): names are varchar(250) with key prefixes; no
  // foreign key from privacy_list_data; booleans are TINYINT(1) holding 1/0.
  `CREATE TABLE IF NOT EXISTS privacy_default_list (
    server   varchar(250) NOT NULL,
    username varchar(250) NOT NULL,
    name     varchar(250) NOT NULL,
    PRIMARY KEY (server, username)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS privacy_list (
    server     varchar(250)    NOT NULL,
    username   varchar(250)    NOT NULL,
    name       varchar(250)    NOT NULL,
    id         bigint unsigned NOT NULL AUTO_INCREMENT UNIQUE,
    created_at timestamp       NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (server, username(75), name(75))
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS privacy_list_data (
    id                 bigint  NOT NULL,
    t                  char(1) NOT NULL,
    value              text    NOT NULL,
    action             char(1) NOT NULL,
    ord                int     NOT NULL,
    match_all          boolean NOT NULL,
    match_iq           boolean NOT NULL,
    match_message      boolean NOT NULL,
    match_presence_in  boolean NOT NULL,
    match_presence_out boolean NOT NULL,
    PRIMARY KEY (id, ord)
  ) ${TABLE_OPTIONS}`,

  // ---- private XML storage (§1.6)
  `CREATE TABLE IF NOT EXISTS private_storage (
    server     varchar(250) NOT NULL,
    username   varchar(250) NOT NULL,
    namespace  varchar(250) NOT NULL,
    data       text         NOT NULL,
    created_at timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (server, username, namespace)
  ) ${TABLE_OPTIONS}`,

  // ---- MAM (§1.5): JID and origin columns are binary (compared byte by byte, 250 bytes), ids unsigned,
  // the message a MEDIUMBLOB (16 MB), is_groupchat a boolean without default.
  `CREATE TABLE IF NOT EXISTS mam_server_user (
    id        int unsigned NOT NULL AUTO_INCREMENT,
    server    varbinary(250) NOT NULL,
    user_name varbinary(250) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uc_mam_server_user_name UNIQUE USING HASH (server, user_name)
  ) ${TABLE_OPTIONS}`,
  // id = (µs << 8) | node, the only time column. Partitioned by owner like upstream.
  `CREATE TABLE IF NOT EXISTS mam_message (
    id              bigint unsigned NOT NULL,
    user_id         int unsigned    NOT NULL,
    from_jid        varbinary(250)  NOT NULL,
    remote_bare_jid varbinary(250)  NOT NULL,
    remote_resource varbinary(250)  NOT NULL,
    direction       enum('I','O')   NOT NULL,
    message         mediumblob      NOT NULL,
    search_body     mediumtext,
    origin_id       varbinary(250),
    is_groupchat    boolean         NOT NULL,
    PRIMARY KEY (user_id, id),
    INDEX i_mam_message_rem (user_id, remote_bare_jid, id),
    INDEX i_mam_message_username_jid_origin_id (user_id, remote_bare_jid, origin_id)
  ) ${TABLE_OPTIONS}
  PARTITION BY HASH (user_id) PARTITIONS 32`,
  `CREATE TABLE IF NOT EXISTS mam_muc_message (
    id          bigint unsigned NOT NULL,
    room_id     int unsigned    NOT NULL,
    sender_id   int unsigned    NOT NULL,
    nick_name   varchar(250)    NOT NULL,
    message     mediumblob      NOT NULL,
    search_body mediumtext,
    origin_id   varbinary(250),
    PRIMARY KEY (room_id, id),
    INDEX i_mam_muc_message_sender_id (sender_id),
    INDEX i_mam_muc_message_room_id_sender_id_origin_id (room_id, sender_id, origin_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS mam_config (
    user_id    int unsigned       NOT NULL,
    remote_jid varbinary(250)     NOT NULL,
    behaviour  enum('A','N','R')  NOT NULL,
    PRIMARY KEY (user_id, remote_jid)
  ) ${TABLE_OPTIONS}`,

  // ---- offline messages (§1.6): µs timestamps unsigned, the packet's XML text in a MEDIUMBLOB
  `CREATE TABLE IF NOT EXISTS offline_message (
    id               bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    timestamp        bigint unsigned NOT NULL,
    expire           bigint unsigned,
    server           varchar(250)    NOT NULL,
    username         varchar(250)    NOT NULL,
    from_jid         varchar(250)    NOT NULL,
    packet           mediumblob      NOT NULL,
    permanent_fields mediumblob,
    INDEX i_offline_message (server, username, id)
  ) ${TABLE_OPTIONS}`,

  // ---- classic MUC (§1.9): SERIAL is BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE
  `CREATE TABLE IF NOT EXISTS muc_rooms (
    id        SERIAL,
    muc_host  varchar(250) NOT NULL,
    room_name varchar(250) NOT NULL,
    options   json         NOT NULL,
    PRIMARY KEY (muc_host, room_name)
  ) ${TABLE_OPTIONS}`,
  // Upstream's inline REFERENCES: MariaDB ≥ 10.5 makes it a foreign key, MySQL 8.0 ignores it.
  `CREATE TABLE IF NOT EXISTS muc_room_aff (
    room_id  bigint unsigned NOT NULL REFERENCES muc_rooms (id),
    luser    varchar(250)    NOT NULL,
    lserver  varchar(250)    NOT NULL,
    resource varchar(250)    NOT NULL,
    aff      smallint        NOT NULL,
    INDEX i_muc_room_aff_id (room_id)
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS muc_registered (
    muc_host varchar(250) NOT NULL,
    luser    varchar(250) NOT NULL,
    lserver  varchar(250) NOT NULL,
    nick     varchar(250) NOT NULL,
    PRIMARY KEY (muc_host, luser, lserver)
  ) ${TABLE_OPTIONS}`,

  // ---- inbox (§1.8): content is a BLOB (64 KB), timestamp unsigned; muted_until must be 0, never NULL
  `CREATE TABLE IF NOT EXISTS inbox (
    luser           varchar(250)    NOT NULL,
    lserver         varchar(250)    NOT NULL,
    remote_bare_jid varchar(250)    NOT NULL,
    msg_id          varchar(250),
    box             varchar(64)     NOT NULL DEFAULT 'inbox',
    content         blob            NOT NULL,
    timestamp       bigint unsigned NOT NULL,
    muted_until     bigint          DEFAULT 0,
    unread_count    int             NOT NULL,
    PRIMARY KEY (lserver, luser, remote_bare_jid),
    INDEX i_inbox (lserver, luser, timestamp),
    INDEX i_inbox_us_box (lserver, luser, box),
    INDEX i_inbox_box (box)
  ) ${TABLE_OPTIONS}`,

  // ---- dynamic domains (§1.2): domain is NOT unique here; check for a row before inserting one
  `CREATE TABLE IF NOT EXISTS domain_settings (
    id        bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    domain    varchar(250)    NOT NULL,
    host_type varchar(250)    NOT NULL,
    status    tinyint         NOT NULL DEFAULT 1
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS domain_events (
    id     bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    domain varchar(250)    NOT NULL,
    INDEX i_domain_events_domain (domain)
  ) ${TABLE_OPTIONS}`,

  // ---- PEP-only mod_pubsub, new in 6.8.0 (§1.10)
  `CREATE TABLE IF NOT EXISTS pubsub_node (
    service_domain varchar(125)            NOT NULL,
    service_user   varchar(125)            NOT NULL,
    node_id        varchar(125)            NOT NULL,
    access_model   enum('open','presence') NOT NULL,
    max_items      bigint,
    PRIMARY KEY (service_domain, service_user, node_id)
  ) ${TABLE_OPTIONS}`,
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
    INDEX i_pubsub_item_published_at (service_domain, service_user, node_id, published_at),
    FOREIGN KEY (service_domain, service_user, node_id)
      REFERENCES pubsub_node (service_domain, service_user, node_id) ON DELETE CASCADE
  ) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS pubsub_subscription (
    service_domain      varchar(125) NOT NULL,
    service_user        varchar(125) NOT NULL,
    node_id             varchar(125) NOT NULL,
    subscriber_domain   varchar(125) NOT NULL,
    subscriber_user     varchar(125) NOT NULL,
    subscriber_resource varchar(125) NOT NULL,
    PRIMARY KEY (service_domain, service_user, node_id, subscriber_domain, subscriber_user, subscriber_resource),
    INDEX i_pubsub_subscription_subscriber (subscriber_domain, subscriber_user),
    FOREIGN KEY (service_domain, service_user, node_id)
      REFERENCES pubsub_node (service_domain, service_user, node_id) ON DELETE CASCADE
  ) ${TABLE_OPTIONS}`,
];

/**
 * Compares the connected database (the URL's, where MongooseIM's unqualified queries land) with
 * REQUIRED_COLUMNS. Pass `tables` to check only what a run will write. information_schema lists only what
 * the connected user may access, so a column it cannot use is reported missing: it cannot be written either.
 */
export async function checkMysqlSchema(
  db: SqlQueryable,
  tables: readonly MongooseImTable[] = Object.keys(REQUIRED_COLUMNS) as MongooseImTable[],
): Promise<SchemaReport> {
  // A table information_schema lists no column of is missing (or invisible to this role: unwritable too).
  const columns = await db.query(
    'SELECT table_name AS table_name, column_name AS column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN (?)',
    [[...tables]],
  );
  return missingFromCatalogue(tables, columns.rows as Array<{ table_name: string; column_name: string }>);
}

/** Runs MONGOOSEIM_MYSQL_DDL statement by statement (MySQL commits each DDL statement on its own). */
export async function createMysqlSchema(db: SqlQueryable): Promise<void> {
  for (const statement of MONGOOSEIM_MYSQL_DDL) await db.query(statement);
}

/** Character sets that hold every Unicode character: 4-byte UTF-8, and bytes (binary columns). */
const FULL_UNICODE = new Set(['utf8mb4', 'binary']);

/**
 * What would turn emoji and other 4-byte UTF-8 into errors or `?`: text columns of MongooseIM's tables in
 * another character set (utf8mb3, latin1, …), and a connection that does not speak utf8mb4. Each entry
 * names the place and its character set; empty means every character survives.
 */
export async function checkMysqlCharacterSets(
  db: SqlQueryable,
  tables: readonly MongooseImTable[] = Object.keys(REQUIRED_COLUMNS) as MongooseImTable[],
): Promise<string[]> {
  const problems: string[] = [];
  const { rows: columns } = await db.query(
    `SELECT table_name AS table_name, column_name AS column_name, character_set_name AS charset FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name IN (?) AND character_set_name IS NOT NULL
      ORDER BY table_name, ordinal_position`,
    [[...tables]],
  );
  for (const c of columns as Array<{ table_name: string; column_name: string; charset: string }>) {
    if (!FULL_UNICODE.has(c.charset)) problems.push(`column ${c.table_name}.${c.column_name} is ${c.charset}`);
  }
  const { rows } = await db.query('SELECT @@character_set_client AS client, @@character_set_connection AS connection, @@character_set_results AS results');
  const session = rows[0] as { client: string; connection: string; results: string | null };
  for (const [name, charset] of Object.entries(session)) {
    // character_set_results NULL means "no conversion": the bytes arrive as stored.
    if (charset !== null && !FULL_UNICODE.has(charset)) problems.push(`the connection's character_set_${name} is ${charset}`);
  }
  return problems;
}
