// Our MongooseIM 6.8 MySQL DDL, loaded into the real MariaDB 10.11, compared fact by fact with
// esl/MongooseIM: priv/mysql.sql @ 6.8.0 and shared/docs/storage-facts.md §1 (tables below written from
// those, not from our DDL), and the schema and character-set checks run against complete and broken schemas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MONGOOSEIM_MYSQL_DDL,
  checkMysqlCharacterSets,
  checkMysqlSchema,
  createMysqlSchema,
} from '../../src/target/mongooseim/schema-mysql.js';
import { REQUIRED_COLUMNS, type MongooseImTable } from '../../src/target/mongooseim/schema-tables.js';
import { openMysql, type MysqlDatabase } from '../../src/target/mysql/mysql-database.js';
import { freshMysqlDatabase, type FreshDatabase } from '../support/databases.js';
import { isSelected } from './target-dialects.js';

type Nullable = 'NULL' | 'NOT NULL';
/** [table, column, type, null, default]. Types without display widths (MySQL 8 spelling), tinyint(1) = boolean. */
type ColumnFact = [string, string, string, Nullable, (string | null)?];

const NOW = 'CURRENT_TIMESTAMP';
const vcardSearchFields = ['fn', 'family', 'given', 'middle', 'nickname', 'bday', 'ctry', 'locality', 'email', 'orgname', 'orgunit'];
const vc = (n: number): string => `varchar(${n})`;
const JID = 'varbinary(250)'; // "varchar(250) CHARACTER SET binary"
const BOOL = 'tinyint(1)';

const COLUMN_FACTS: ColumnFact[] = [
  ['users', 'username', vc(250), 'NOT NULL'],
  ['users', 'server', vc(250), 'NOT NULL'],
  ['users', 'password', 'text', 'NOT NULL'],
  ['users', 'pass_details', 'text', 'NULL'],
  ['users', 'created_at', 'timestamp', 'NOT NULL', NOW],

  ['last', 'server', vc(250), 'NOT NULL'],
  ['last', 'username', vc(250), 'NOT NULL'],
  ['last', 'seconds', 'int', 'NOT NULL'],
  ['last', 'state', 'text', 'NOT NULL'],

  // jid and grp are varchar(250) on MySQL, text on PostgreSQL
  ['rosterusers', 'server', vc(250), 'NOT NULL'],
  ['rosterusers', 'username', vc(250), 'NOT NULL'],
  ['rosterusers', 'jid', vc(250), 'NOT NULL'],
  ['rosterusers', 'nick', 'text', 'NOT NULL'],
  ['rosterusers', 'subscription', 'char(1)', 'NOT NULL'],
  ['rosterusers', 'ask', 'char(1)', 'NOT NULL'],
  ['rosterusers', 'askmessage', 'text', 'NOT NULL'],
  ['rosterusers', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['rostergroups', 'server', vc(250), 'NOT NULL'],
  ['rostergroups', 'username', vc(250), 'NOT NULL'],
  ['rostergroups', 'jid', vc(250), 'NOT NULL'],
  ['rostergroups', 'grp', vc(250), 'NOT NULL'],
  ['roster_version', 'server', vc(250), 'NOT NULL'],
  ['roster_version', 'username', vc(250), 'NOT NULL'],
  ['roster_version', 'version', 'text', 'NOT NULL'],

  // vcard.server is varchar(150) (100 on PostgreSQL), the vCard a MEDIUMTEXT; the search copies are varchar(250)
  ['vcard', 'username', vc(150), 'NOT NULL'],
  ['vcard', 'server', vc(150), 'NOT NULL'],
  ['vcard', 'vcard', 'mediumtext', 'NOT NULL'],
  ['vcard', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['vcard_search', 'username', vc(150), 'NOT NULL'],
  ['vcard_search', 'lusername', vc(100), 'NOT NULL'],
  ['vcard_search', 'server', vc(150), 'NOT NULL'],
  ...vcardSearchFields.flatMap((f): ColumnFact[] => [
    ['vcard_search', f, 'text', 'NOT NULL'],
    ['vcard_search', `l${f}`, vc(250), 'NOT NULL'],
  ]),

  ['privacy_default_list', 'server', vc(250), 'NOT NULL'],
  ['privacy_default_list', 'username', vc(250), 'NOT NULL'],
  ['privacy_default_list', 'name', vc(250), 'NOT NULL'],
  ['privacy_list', 'server', vc(250), 'NOT NULL'],
  ['privacy_list', 'username', vc(250), 'NOT NULL'],
  ['privacy_list', 'name', vc(250), 'NOT NULL'],
  ['privacy_list', 'id', 'bigint unsigned auto_increment', 'NOT NULL'],
  ['privacy_list', 'created_at', 'timestamp', 'NOT NULL', NOW],
  ['privacy_list_data', 'id', 'bigint', 'NOT NULL'],
  ['privacy_list_data', 't', 'char(1)', 'NOT NULL'],
  ['privacy_list_data', 'value', 'text', 'NOT NULL'],
  ['privacy_list_data', 'action', 'char(1)', 'NOT NULL'],
  ['privacy_list_data', 'ord', 'int', 'NOT NULL'],
  ...['match_all', 'match_iq', 'match_message', 'match_presence_in', 'match_presence_out'].map(
    (c): ColumnFact => ['privacy_list_data', c, BOOL, 'NOT NULL'],
  ),

  ['private_storage', 'server', vc(250), 'NOT NULL'],
  ['private_storage', 'username', vc(250), 'NOT NULL'],
  ['private_storage', 'namespace', vc(250), 'NOT NULL'],
  ['private_storage', 'data', 'text', 'NOT NULL'],
  ['private_storage', 'created_at', 'timestamp', 'NOT NULL', NOW],

  ['mam_server_user', 'id', 'int unsigned auto_increment', 'NOT NULL'],
  ['mam_server_user', 'server', JID, 'NOT NULL'],
  ['mam_server_user', 'user_name', JID, 'NOT NULL'],
  ['mam_message', 'id', 'bigint unsigned', 'NOT NULL'],
  ['mam_message', 'user_id', 'int unsigned', 'NOT NULL'],
  ['mam_message', 'from_jid', JID, 'NOT NULL'],
  ['mam_message', 'remote_bare_jid', JID, 'NOT NULL'],
  ['mam_message', 'remote_resource', JID, 'NOT NULL'],
  ['mam_message', 'direction', "enum('I','O')", 'NOT NULL'],
  ['mam_message', 'message', 'mediumblob', 'NOT NULL'],
  ['mam_message', 'search_body', 'mediumtext', 'NULL'],
  ['mam_message', 'origin_id', JID, 'NULL'],
  ['mam_message', 'is_groupchat', BOOL, 'NOT NULL'], // no default on a fresh schema
  ['mam_muc_message', 'id', 'bigint unsigned', 'NOT NULL'],
  ['mam_muc_message', 'room_id', 'int unsigned', 'NOT NULL'],
  ['mam_muc_message', 'sender_id', 'int unsigned', 'NOT NULL'],
  ['mam_muc_message', 'nick_name', vc(250), 'NOT NULL'], // text, not binary
  ['mam_muc_message', 'message', 'mediumblob', 'NOT NULL'],
  ['mam_muc_message', 'search_body', 'mediumtext', 'NULL'],
  ['mam_muc_message', 'origin_id', JID, 'NULL'],
  ['mam_config', 'user_id', 'int unsigned', 'NOT NULL'],
  ['mam_config', 'remote_jid', JID, 'NOT NULL'],
  ['mam_config', 'behaviour', "enum('A','N','R')", 'NOT NULL'],

  ['offline_message', 'id', 'bigint unsigned auto_increment', 'NOT NULL'],
  ['offline_message', 'timestamp', 'bigint unsigned', 'NOT NULL'],
  ['offline_message', 'expire', 'bigint unsigned', 'NULL'],
  ['offline_message', 'server', vc(250), 'NOT NULL'],
  ['offline_message', 'username', vc(250), 'NOT NULL'],
  ['offline_message', 'from_jid', vc(250), 'NOT NULL'],
  ['offline_message', 'packet', 'mediumblob', 'NOT NULL'],
  ['offline_message', 'permanent_fields', 'mediumblob', 'NULL'],

  // SERIAL = bigint unsigned NOT NULL AUTO_INCREMENT UNIQUE; MariaDB's JSON is LONGTEXT with a json_valid check
  ['muc_rooms', 'id', 'bigint unsigned auto_increment', 'NOT NULL'],
  ['muc_rooms', 'muc_host', vc(250), 'NOT NULL'],
  ['muc_rooms', 'room_name', vc(250), 'NOT NULL'],
  ['muc_rooms', 'options', 'longtext', 'NOT NULL'],
  ['muc_room_aff', 'room_id', 'bigint unsigned', 'NOT NULL'],
  ['muc_room_aff', 'luser', vc(250), 'NOT NULL'],
  ['muc_room_aff', 'lserver', vc(250), 'NOT NULL'],
  ['muc_room_aff', 'resource', vc(250), 'NOT NULL'],
  ['muc_room_aff', 'aff', 'smallint', 'NOT NULL'],
  ['muc_registered', 'muc_host', vc(250), 'NOT NULL'],
  ['muc_registered', 'luser', vc(250), 'NOT NULL'],
  ['muc_registered', 'lserver', vc(250), 'NOT NULL'],
  ['muc_registered', 'nick', vc(250), 'NOT NULL'],

  ['inbox', 'luser', vc(250), 'NOT NULL'],
  ['inbox', 'lserver', vc(250), 'NOT NULL'],
  ['inbox', 'remote_bare_jid', vc(250), 'NOT NULL'],
  ['inbox', 'msg_id', vc(250), 'NULL'],
  ['inbox', 'box', vc(64), 'NOT NULL', 'inbox'],
  ['inbox', 'content', 'blob', 'NOT NULL'], // 64 KB
  ['inbox', 'timestamp', 'bigint unsigned', 'NOT NULL'],
  ['inbox', 'muted_until', 'bigint', 'NULL', '0'], // nullable upstream; write 0, never NULL
  ['inbox', 'unread_count', 'int', 'NOT NULL'],

  ['domain_settings', 'id', 'bigint unsigned auto_increment', 'NOT NULL'],
  ['domain_settings', 'domain', vc(250), 'NOT NULL'],
  ['domain_settings', 'host_type', vc(250), 'NOT NULL'],
  ['domain_settings', 'status', 'tinyint', 'NOT NULL', '1'],
  ['domain_events', 'id', 'bigint unsigned auto_increment', 'NOT NULL'],
  ['domain_events', 'domain', vc(250), 'NOT NULL'],

  ['pubsub_node', 'service_domain', vc(125), 'NOT NULL'],
  ['pubsub_node', 'service_user', vc(125), 'NOT NULL'],
  ['pubsub_node', 'node_id', vc(125), 'NOT NULL'],
  ['pubsub_node', 'access_model', "enum('open','presence')", 'NOT NULL'],
  ['pubsub_node', 'max_items', 'bigint', 'NULL'],
  ...['service_domain', 'service_user', 'node_id', 'item_id', 'publisher_domain', 'publisher_user', 'publisher_resource'].map(
    (c): ColumnFact => ['pubsub_item', c, vc(125), 'NOT NULL'],
  ),
  ['pubsub_item', 'payload', 'text', 'NOT NULL'],
  ['pubsub_item', 'published_at', 'bigint', 'NOT NULL'],
  ...['service_domain', 'service_user', 'node_id', 'subscriber_domain', 'subscriber_user', 'subscriber_resource'].map(
    (c): ColumnFact => ['pubsub_subscription', c, vc(125), 'NOT NULL'],
  ),
];

/** [table, index, unique, columns (with key prefixes)]: PRIMARY, UNIQUE and secondary indexes. */
const INDEX_FACTS: Array<[string, string, boolean, string]> = [
  ['users', 'PRIMARY', true, 'server,username'],
  ['last', 'PRIMARY', true, 'server,username'],
  ['last', 'i_last_server_seconds', false, 'server,seconds'],
  ['rosterusers', 'PRIMARY', true, 'server,username,jid'],
  // prefixes: groups sharing their first 150 characters collide
  ['rostergroups', 'PRIMARY', true, 'server(150),username(200),jid,grp(150)'],
  ['roster_version', 'PRIMARY', true, 'server,username'],
  ['vcard', 'PRIMARY', true, 'username,server'],
  ['vcard_search', 'PRIMARY', true, 'lusername,server'],
  ['vcard_search', 'i_vcard_search_server', false, 'server'],
  ...vcardSearchFields.map((f): [string, string, boolean, string] => ['vcard_search', `i_vcard_search_l${f}`, false, `l${f}`]),
  ['privacy_default_list', 'PRIMARY', true, 'server,username'],
  ['privacy_list', 'PRIMARY', true, 'server,username(75),name(75)'],
  ['privacy_list', 'id', true, 'id'],
  ['privacy_list_data', 'PRIMARY', true, 'id,ord'],
  ['private_storage', 'PRIMARY', true, 'server,username,namespace'],
  ['mam_server_user', 'PRIMARY', true, 'id'],
  ['mam_server_user', 'uc_mam_server_user_name', true, 'server,user_name'],
  ['mam_message', 'PRIMARY', true, 'user_id,id'],
  ['mam_message', 'i_mam_message_rem', false, 'user_id,remote_bare_jid,id'],
  ['mam_message', 'i_mam_message_username_jid_origin_id', false, 'user_id,remote_bare_jid,origin_id'],
  ['mam_muc_message', 'PRIMARY', true, 'room_id,id'],
  ['mam_muc_message', 'i_mam_muc_message_sender_id', false, 'sender_id'],
  ['mam_muc_message', 'i_mam_muc_message_room_id_sender_id_origin_id', false, 'room_id,sender_id,origin_id'],
  ['mam_config', 'PRIMARY', true, 'user_id,remote_jid'],
  ['offline_message', 'PRIMARY', true, 'id'],
  ['offline_message', 'i_offline_message', false, 'server,username,id'],
  ['muc_rooms', 'PRIMARY', true, 'muc_host,room_name'],
  ['muc_rooms', 'id', true, 'id'],
  ['muc_room_aff', 'i_muc_room_aff_id', false, 'room_id'],
  ['muc_registered', 'PRIMARY', true, 'muc_host,luser,lserver'],
  ['inbox', 'PRIMARY', true, 'lserver,luser,remote_bare_jid'],
  ['inbox', 'i_inbox', false, 'lserver,luser,timestamp'],
  ['inbox', 'i_inbox_us_box', false, 'lserver,luser,box'],
  ['inbox', 'i_inbox_box', false, 'box'], // MySQL has no partial index (PostgreSQL: WHERE box = 'bin')
  ['domain_settings', 'PRIMARY', true, 'id'], // domain is not unique on MySQL
  ['domain_events', 'PRIMARY', true, 'id'],
  ['domain_events', 'i_domain_events_domain', false, 'domain'],
  ['pubsub_node', 'PRIMARY', true, 'service_domain,service_user,node_id'],
  ['pubsub_item', 'PRIMARY', true, 'service_domain,service_user,node_id,item_id'],
  ['pubsub_item', 'i_pubsub_item_published_at', false, 'service_domain,service_user,node_id,published_at'],
  ['pubsub_subscription', 'PRIMARY', true, 'service_domain,service_user,node_id,subscriber_domain,subscriber_user,subscriber_resource'],
  ['pubsub_subscription', 'i_pubsub_subscription_subscriber', false, 'subscriber_domain,subscriber_user'],
];

/** [table, columns, referenced, on delete]: the foreign keys InnoDB keeps. */
const FOREIGN_KEY_FACTS: Array<[string, string, string, string]> = [
  ['pubsub_item', 'service_domain,service_user,node_id', 'pubsub_node(service_domain,service_user,node_id)', 'CASCADE'],
  ['pubsub_subscription', 'service_domain,service_user,node_id', 'pubsub_node(service_domain,service_user,node_id)', 'CASCADE'],
  // Upstream's inline `REFERENCES muc_rooms(id)`: a real foreign key on MariaDB ≥ 10.5, ignored by MySQL 8.0.
  ['muc_room_aff', 'room_id', 'muc_rooms(id)', 'RESTRICT'],
];

const TABLES = Object.keys(REQUIRED_COLUMNS) as MongooseImTable[];

/** information_schema's view of a column, in the notation of COLUMN_FACTS. */
async function columnFacts(db: MysqlDatabase): Promise<ColumnFact[]> {
  const { rows } = await db.query<{ tbl: string; col: string; type: string; nullable: string; dflt: string | null; extra: string }>(
    `SELECT table_name AS tbl, column_name AS col, column_type AS type, is_nullable AS nullable, column_default AS dflt, extra
       FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN (?)`,
    [TABLES],
  );
  return rows.map((r): ColumnFact => {
    // MariaDB spells widths (int(10) unsigned) and functions (current_timestamp()) that MySQL 8 does not.
    let type = r.type.replace(/^(bigint|int|smallint|mediumint)\(\d+\)/, '$1').replace(/^tinyint\((?!1\))\d+\)/, 'tinyint');
    if (r.extra.includes('auto_increment')) type += ' auto_increment';
    const fact: ColumnFact = [r.tbl, r.col, type, r.nullable === 'YES' ? 'NULL' : 'NOT NULL'];
    const dflt = r.dflt === null || r.dflt === 'NULL' ? null : r.dflt.replace(/^current_timestamp\(\)$/, NOW).replace(/^'(.*)'$/, '$1');
    if (dflt !== null) fact.push(dflt);
    return fact;
  });
}

const byKey = <T extends unknown[]>(a: T, b: T): number => JSON.stringify(a).localeCompare(JSON.stringify(b));

describe.runIf(isSelected('mysql'))('MongooseIM 6.8 DDL on MariaDB 10.11', () => {
  let database: FreshDatabase;
  let db: MysqlDatabase;
  beforeAll(async () => {
    database = await freshMysqlDatabase('schema_mysql');
    db = await openMysql(database.url);
    await createMysqlSchema(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('passes the schema check', async () => {
    expect(await checkMysqlSchema(db)).toEqual({ missingTables: [], missingColumns: [] });
  });

  it('has exactly the upstream columns, types, nullability and defaults', async () => {
    expect((await columnFacts(db)).sort(byKey)).toEqual([...COLUMN_FACTS].sort(byKey));
  });

  it('keeps every text column in utf8mb4, so emoji survive even in a latin1 database', async () => {
    const { rows } = await db.query<{ charset: string; n: string }>(
      `SELECT character_set_name AS charset, count(*) AS n FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name IN (?) AND character_set_name IS NOT NULL GROUP BY character_set_name`,
      [TABLES],
    );
    expect(rows.map((r) => r.charset)).toEqual(['utf8mb4']);
    expect(await checkMysqlCharacterSets(db)).toEqual([]);
  });

  it('has the upstream primary keys, unique keys and secondary indexes', async () => {
    const { rows } = await db.query<{ tbl: string; name: string; non_unique: number | string; cols: string }>(
      `SELECT table_name AS tbl, index_name AS name, non_unique,
              GROUP_CONCAT(CONCAT(column_name, COALESCE(CONCAT('(', sub_part, ')'), '')) ORDER BY seq_in_index) AS cols
         FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name IN (?)
        GROUP BY table_name, index_name, non_unique`,
      [TABLES],
    );
    const actual = rows.map((r) => [r.tbl, r.name, Number(r.non_unique) === 0, r.cols]);
    expect(actual.sort(byKey)).toEqual([...INDEX_FACTS].sort(byKey));
  });

  it('has the upstream foreign keys', async () => {
    const { rows } = await db.query<{ tbl: string; cols: string; ref: string; rule: string }>(
      `SELECT k.table_name AS tbl, GROUP_CONCAT(k.column_name ORDER BY k.ordinal_position) AS cols,
              CONCAT(k.referenced_table_name, '(', GROUP_CONCAT(k.referenced_column_name ORDER BY k.ordinal_position), ')') AS ref, r.delete_rule AS rule
         FROM information_schema.key_column_usage k
         JOIN information_schema.referential_constraints r ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name
        WHERE k.table_schema = DATABASE() GROUP BY k.table_name, k.constraint_name, k.referenced_table_name, r.delete_rule`,
    );
    expect(rows.map((r) => [r.tbl, r.cols, r.ref, r.rule]).sort(byKey)).toEqual([...FOREIGN_KEY_FACTS].sort(byKey));
  });

  it('partitions mam_message by HASH(user_id) into 32 partitions, InnoDB everywhere', async () => {
    const { rows } = await db.query<{ method: string; expr: string; n: string }>(
      `SELECT partition_method AS method, partition_expression AS expr, count(*) AS n FROM information_schema.partitions
        WHERE table_schema = DATABASE() AND table_name = 'mam_message' GROUP BY partition_method, partition_expression`,
    );
    expect(rows).toEqual([{ method: 'HASH', expr: '`user_id`', n: '32' }]);
    const engines = await db.query<{ engine: string }>(`SELECT DISTINCT engine FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)`, [TABLES]);
    expect(engines.rows).toEqual([{ engine: 'InnoDB' }]);
  });

  it('requires only columns the DDL creates', () => {
    const created = new Set(COLUMN_FACTS.map(([table, column]) => `${table}.${column}`));
    const required = TABLES.flatMap((table) => REQUIRED_COLUMNS[table].map((column) => `${table}.${column}`));
    expect(required.filter((key) => !created.has(key))).toEqual([]);
    expect(new Set(COLUMN_FACTS.map(([table]) => table))).toEqual(new Set(TABLES));
  });

  it('can be applied twice', async () => {
    await createMysqlSchema(db);
    expect(await checkMysqlSchema(db)).toEqual({ missingTables: [], missingColumns: [] });
  });

  describe('on an incomplete schema', () => {
    let broken: FreshDatabase;
    let bdb: MysqlDatabase;
    beforeAll(async () => {
      broken = await freshMysqlDatabase('schema_broken');
      bdb = await openMysql(broken.url);
    });
    afterAll(async () => {
      await bdb?.close();
      await broken?.drop();
    });

    it('reports every table missing on an empty database', async () => {
      expect(await checkMysqlSchema(bdb)).toEqual({ missingTables: TABLES, missingColumns: [] });
    });

    it('reports exactly the dropped table and columns', async () => {
      for (const statement of MONGOOSEIM_MYSQL_DDL) await bdb.query(statement);
      await bdb.query('DROP TABLE inbox');
      await bdb.query('ALTER TABLE mam_message DROP COLUMN is_groupchat');
      await bdb.query('ALTER TABLE users DROP COLUMN pass_details');
      expect(await checkMysqlSchema(bdb)).toEqual({
        missingTables: ['inbox'],
        missingColumns: [
          { table: 'users', column: 'pass_details' },
          { table: 'mam_message', column: 'is_groupchat' },
        ],
      });
    });

    it('checks only the tables asked for', async () => {
      expect(await checkMysqlSchema(bdb, ['users', 'rosterusers', 'inbox'])).toEqual({
        missingTables: ['inbox'],
        missingColumns: [{ table: 'users', column: 'pass_details' }],
      });
      expect(await checkMysqlSchema(bdb, ['rosterusers', 'mam_muc_message'])).toEqual({ missingTables: [], missingColumns: [] });
    });
  });
});
